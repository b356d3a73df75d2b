// Which token goes to which Git host API. Each variable names the one API host it is sent to
// (GITHUB_TOKEN api.github.com, FLUX_INFRA_TOKEN_GHE_EXAMPLE_COM ghe.example.com), so that no source
// URL, look-alike host or GitHub Enterprise can draw another host's token. Every value is checked as
// a header value before use and held for redact().
import { GitHost, RepositoryRef } from '../../lib/hosts';
import { holdSecret } from '../redact';
import { CommandError } from '../common';

/** The public APIs' own variables, by API host name: each applies to that host only. */
const PUBLIC_API_TOKENS: ReadonlyMap<string, string> = new Map([
  ['api.github.com', 'GITHUB_TOKEN'], ['gitlab.com', 'GITLAB_TOKEN'], ['gitea.com', 'GITEA_TOKEN'], ['api.bitbucket.org', 'BITBUCKET_TOKEN'],
]);

/** Any other API host's variable: this prefix and the host name in upper case, each dot as _ and each hyphen as __. */
export const HOST_TOKEN_PREFIX = 'FLUX_INFRA_TOKEN_';

/** Whether `name` is a variable a host token is read from (what `verify --heads git` keeps from git). */
export function isTokenVariable(name: string): boolean {
  return name.startsWith(HOST_TOKEN_PREFIX) || [...PUBLIC_API_TOKENS.values()].includes(name);
}

/** A DNS label (or an IPv4 address's number): no hyphen at either end, so that _ and __ never run together ambiguously. */
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The variable holding the token for the API at `apiUrl`, one per host name; undefined for a host no
 * variable name can carry one to one (an IPv6 address, a name with characters other than a-z, 0-9, -).
 */
export function tokenVariableFor(apiUrl: URL): string | undefined {
  const host = apiUrl.hostname.toLowerCase();
  const known = PUBLIC_API_TOKENS.get(host);
  if (known !== undefined) return known;
  if (!host.split('.').every((label) => LABEL.test(label))) return undefined;
  return `${HOST_TOKEN_PREFIX}${host.toUpperCase().replace(/-/g, '__').replace(/\./g, '_')}`;
}

/** `value` if it can go into a header (printable ASCII, no space, no line break); else a CommandError naming `where`, never the value. */
export function checkedCredential(value: string, where: string): string {
  holdSecret(value);
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new CommandError(`${where} is not a usable token: it holds a line break, a space or a character outside printable ASCII; set it to the token alone`);
  }
  return value;
}

export interface HostToken {
  /** The variable for the API's host; undefined where no variable can name it. */
  readonly variable: string | undefined;
  /** Its value, checked; undefined where it is not set. */
  readonly token: string | undefined;
}

/** The token for the API at `apiUrl`, from its host's variable only. */
export function hostToken(apiUrl: URL, env: NodeJS.ProcessEnv): HostToken {
  const variable = tokenVariableFor(apiUrl);
  const value = variable === undefined ? undefined : env[variable];
  return { variable, token: value === undefined || value === '' ? undefined : checkedCredential(value, variable!) };
}

/** For messages: the variable, or why there is none. */
export function tokenVariableWords(apiUrl: URL): string {
  return tokenVariableFor(apiUrl) ?? `a token for ${apiUrl.host} (no variable can name that host: give its API by DNS name or IPv4 address)`;
}

/** The token for the API at `apiUrl`, or a CommandError saying which variable to set, for which host. */
export function requireHostToken(apiUrl: URL, env: NodeJS.ProcessEnv, hostName: string, rights: string): string {
  const { variable, token } = hostToken(apiUrl, env);
  if (token !== undefined) return token;
  if (variable === undefined) {
    throw new CommandError(`no token variable can name the ${hostName} API at ${apiUrl.origin} (an IPv6 address, or characters other than a-z, 0-9, - and .): give the API by its DNS name or IPv4 address`);
  }
  throw new CommandError(`${variable} is not set: create a ${hostName} token (${rights}) for ${apiUrl.hostname} and export it`);
}

/** Where a source's host API is: `override` (--api-url) where given, else the source's apiUrl, else the host's public API for its server. */
export function sourceApiUrl(source: { readonly apiUrl?: string }, host: GitHost, repository: RepositoryRef, override?: string): string {
  return override ?? source.apiUrl ?? host.defaultApiUrl(repository.host);
}

