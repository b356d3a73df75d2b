/**
 * Which revision of a Git repository Flux follows. Exactly one kind of reference:
 * a branch, a tag, a semver range over tags, or a pinned commit.
 *
 * @see https://fluxcd.io/flux/components/source/gitrepositories/#reference
 */
export class GitRef {
  /** Follows the head of a branch. */
  public static branch(name: string): GitRef {
    return new GitRef('branch', checkRefName('branch', name));
  }

  /** Follows one tag. */
  public static tag(name: string): GitRef {
    return new GitRef('tag', checkRefName('tag', name));
  }

  /** Follows the highest tag that satisfies a semver range, e.g. `>=1.0.0 <2.0.0`. */
  public static semver(range: string): GitRef {
    if (range.trim() === '') {
      throw new Error('semver range must not be empty: give a range such as ">=1.0.0"');
    }
    return new GitRef('semver', range);
  }

  /** Pins one commit by its full SHA-1 (40 hex) or SHA-256 (64 hex) id. */
  public static commit(sha: string): GitRef {
    if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) {
      throw new Error(`commit "${sha}" must be a full lower-case commit id (40 or 64 hex characters)`);
    }
    return new GitRef('commit', sha);
  }

  private constructor(public readonly kind: 'branch' | 'tag' | 'semver' | 'commit', public readonly value: string) {}

  /** The `spec.ref` object of a GitRepository. */
  public toSpec(): { [kind: string]: string } {
    return { [this.kind]: this.value };
  }
}

function checkRefName(kind: string, name: string): string {
  // git check-ref-format's rules, the ones a typo hits: no spaces, no '..', no leading '-'.
  if (name === '' || /[\s~^:?*[\\]|\.\.|^-|\/$|\.lock$/.test(name)) {
    throw new Error(`${kind} "${name}" is not a valid Git ${kind} name`);
  }
  return name;
}
