import { validRange } from 'semver';

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

  /** Pins one commit by its full SHA-1 (40 hex) or SHA-256 (64 hex) id. */
  public static commit(sha: string): GitRef {
    return new GitRef('commit', checked('commit', sha, gitCommitProblem(sha)));
  }

  private constructor(public readonly kind: 'branch' | 'tag' | 'semver' | 'commit', public readonly value: string) {}

  /** The `spec.ref` object of a GitRepository. */
  public toSpec(): { [kind: string]: string } {
    return { [this.kind]: this.value };
  }
}

/** Why `name` is not a Git branch or tag name, or undefined when it is one. */
export function gitRefNameProblem(name: string): string | undefined {
  // git check-ref-format's rules, the ones a typo hits: no spaces, no '..', no leading '-'.
  return name === '' || /[\s~^:?*[\\]|\.\.|^-|\/$|\.lock$/.test(name) ? `"${name}" is not a valid Git ref name` : undefined;
}

/** Why `range` is not a semver range (parsed by the semver library), or undefined when it is one. */
export function semverRangeProblem(range: string): string | undefined {
  return range.trim() === '' || validRange(range) === null ? `"${range}" is not a semver range: write e.g. ">=1.0.0 <2.0.0", "~1.2" or "1.x"` : undefined;
}

/** Why `sha` is not a full commit id, or undefined when it is one. */
export function gitCommitProblem(sha: string): string | undefined {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) ? undefined : `"${sha}" must be a full lower-case commit id (40 or 64 hex characters)`;
}

function checked(kind: string, value: string, problem: string | undefined): string {
  if (problem) throw new Error(`${kind} ${problem}`);
  return value;
}
