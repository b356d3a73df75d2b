// What a Git source of the fleet may say: its URL, references and paths. Value rules, no I/O: the
// fleet file and the constructs both check with these.
import { validRange } from 'semver';
import { controlCharacterProblem } from './names';

/** The branch a source follows (and bootstrap, for the fleet repository) unless the fleet file names another. */
export const DEFAULT_BRANCH = 'main';

/** Why `url` is not a Git URL that source-controller can clone (https:// or ssh://), or undefined. */
export function gitUrlProblem(url: string): string | undefined {
  const control = controlCharacterProblem(url);
  if (control) return control;
  if (/^[\w.-]+@[\w.-]+:(?!\/\/)/.test(url)) {
    return `"${url}" is scp-style, which Flux does not accept: write it as ssh://${url.replace(':', '/')}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: use https://host/org/repo or ssh://git@host/org/repo`;
  }
  if (!/^(https|ssh):\/\//.test(url) || parsed.hostname === '') {
    return `"${url}" must start with https:// or ssh:// (lower case) and name a host, e.g. https://github.com/org/repo`;
  }
  if (parsed.protocol === 'https:' && (parsed.username || parsed.password)) {
    return `"${url}" carries credentials: put them in a Secret and name it in secretName`;
  }
  if (parsed.protocol === 'ssh:' && parsed.password) {
    return `"${url}" carries a password: Flux authenticates over ssh with a key; put it in a Secret and name it in secretName`;
  }
  return undefined;
}

/** Why `path` is not a path inside a source, or undefined when it is one. */
export function sourcePathProblem(path: string): string | undefined {
  const control = controlCharacterProblem(path);
  if (control) return control;
  if (!path.startsWith('./')) return `"${path}" must be relative to the source root and start with "./", e.g. ./${path.replace(/^\/+/, '')}`;
  if (path.split('/').includes('..')) return `"${path}" must not leave the source with ".."`;
  return undefined;
}

/** Why `name` is not a Git branch or tag name, or undefined when it is one. */
export function gitRefNameProblem(name: string): string | undefined {
  const control = controlCharacterProblem(name);
  if (control) return control;
  // git check-ref-format's rules, the ones a typo hits: no spaces, no '..', no leading '-'.
  return name === '' || /[\s~^:?*[\\]|\.\.|^-|\/$|\.lock$/.test(name) ? `"${name}" is not a valid Git ref name` : undefined;
}

/** Why `range` is not a semver range (parsed by the semver library), or undefined when it is one. */
export function semverRangeProblem(range: string): string | undefined {
  const control = controlCharacterProblem(range);
  if (control) return control;
  return range.trim() === '' || validRange(range) === null ? `"${range}" is not a semver range: write e.g. ">=1.0.0 <2.0.0", "~1.2" or "1.x"` : undefined;
}

/** Why `sha` is not a full commit id, or undefined when it is one. */
export function gitCommitProblem(sha: string): string | undefined {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) ? undefined : `"${sha}" must be a full lower-case commit id (40 or 64 hex characters)`;
}

/** The kinds of reference a Git source can follow; a source names exactly one. */
export const GIT_REF_KINDS = ['branch', 'tag', 'semver', 'commit'] as const;
export type GitRefKind = (typeof GIT_REF_KINDS)[number];

/**
 * The one reference `source` names (branch main when it names none), or, when it names more than
 * one, the second of them and why it is wrong.
 */
export function gitRefChoice(source: Partial<Record<GitRefKind, string>>): { kind: GitRefKind; value: string } | { extra: GitRefKind; problem: string } {
  const given = GIT_REF_KINDS.filter((kind) => source[kind] !== undefined);
  if (given.length > 1) return { extra: given[1], problem: `give only one of ${GIT_REF_KINDS.join(', ')} (also has ${given[0]})` };
  return given.length === 0 ? { kind: 'branch', value: DEFAULT_BRANCH } : { kind: given[0], value: source[given[0]]! };
}

/** Why `url` cannot be a Git host's REST API root, or undefined when it can: http(s), no credentials, query or fragment. */
export function apiUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: give the API root, e.g. https://ghe.example.com/api/v3 or https://gitlab.example.com/api/v4`;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `"${url}" must start with https://`;
  if (parsed.username || parsed.password) return `"${url}" carries credentials: give the URL alone; the token comes from the environment`;
  if (parsed.search || parsed.hash) return `"${url}" has a query or fragment: give the API root alone`;
  return undefined;
}
