import { gitCommitProblem, GitRefKind, gitRefNameProblem, semverRangeProblem } from '../fleet/git';

/**
 * Which revision of a Git repository Flux follows. Exactly one kind of reference:
 * a branch, a tag, a semver range over tags, or a pinned commit.
 *
 * @see https://fluxcd.io/flux/components/source/gitrepositories/#reference
 */
export class GitRef {
  /** Follows the head of a branch. */
  public static branch(name: string): GitRef {
    return new GitRef('branch', checked('branch', name, gitRefNameProblem(name)));
  }

  /** Follows one tag. */
  public static tag(name: string): GitRef {
    return new GitRef('tag', checked('tag', name, gitRefNameProblem(name)));
  }

  /** Follows the highest tag that satisfies a semver range, e.g. `>=1.0.0 <2.0.0`. */
  public static semver(range: string): GitRef {
    return new GitRef('semver', checked('semver', range, semverRangeProblem(range)));
  }

  /** The reference of `kind` to `value`, checked as the named factories check it. */
  public static of(kind: GitRefKind, value: string): GitRef {
    return GitRef[kind](value);
  }

  /** Pins one commit by its full SHA-1 (40 hex) or SHA-256 (64 hex) id. */
  public static commit(sha: string): GitRef {
    return new GitRef('commit', checked('commit', sha, gitCommitProblem(sha)));
  }

  private constructor(public readonly kind: GitRefKind, public readonly value: string) {}

  /** The `spec.ref` object of a GitRepository. */
  public toSpec(): { [kind: string]: string } {
    return { [this.kind]: this.value };
  }
}

function checked(kind: string, value: string, problem: string | undefined): string {
  if (problem) throw new Error(`${kind} ${problem}`);
  return value;
}
