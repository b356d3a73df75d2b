// What every Git host API client here shares: the API origin checked, a fetch that never leaves it,
// and the host's answer (or the failure to get one) in one line. The token and the webhook secret go
// to the configured API origin only: no redirect is followed (fetch would re-send a POST body,
// secret included, wherever it points), a link to another origin is refused, and plain http is
// refused except on loopback or when asked for.
import { isLoopbackHost } from '../../../lib/fleet/network';
import { redact } from '../../redact';
import { CommandError, UsageError } from '../../common';
import { BoundExceeded, boundedFetch, RequestBounds } from '../bounded-fetch';
import { hostToken, sourceApiUrl, tokenVariableWords } from '../host-tokens';
import { GitHost, RepositoryRef } from '../../../lib/hosts';

/** A request the client refused to send or to follow; the message is one line for the user. */
export class OffOriginError extends Error {}

/** An answer that is not a success, from a client that does not throw its own (Bitbucket's). */
export class ApiAnswerError extends Error {
  public constructor(public readonly status: number, public readonly detail: string) {
    super(`HTTP ${status}: ${detail}`);
  }
}

/** The API root as a URL, or a UsageError saying what is wrong with it, naming the variable (its host's) that would leak. */
export function apiOrigin(apiUrl: string, allowHttp = false): URL {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new UsageError(`--api-url "${apiUrl}" is not a URL: give e.g. https://ghe.example.com/api/v3`);
  }
  const tokenVariable = tokenVariableWords(url);
  if (url.username || url.password) {
    throw new UsageError(`--api-url carries credentials: give the API URL alone and the token in ${tokenVariable}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--api-url "${apiUrl}" must be https://`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowHttp) {
    throw new UsageError(`--api-url "${apiUrl}" is plain http, which would send ${tokenVariable} and the webhook secret in clear: use https:// (or --allow-http if the network is yours)`);
  }
  return url;
}

/** A fetch that only calls `base`'s origin, within the command's bounds (no redirect followed, deadline, body size). */
export function confinedFetch(base: URL, bounds: RequestBounds): typeof fetch {
  const bounded = boundedFetch(bounds, 'give the API\'s final URL with --api-url (a redirect would re-send the token and the webhook secret)');
  return async (input, init) => {
    const target = new URL(input instanceof Request ? input.url : String(input));
    if (target.origin !== base.origin) {
      throw new OffOriginError(`refused to send a request to ${target.origin}, which is not the API's origin ${base.origin} (a pagination link pointed there); the token stays with the API`);
    }
    return bounded(input, init);
  };
}

/** A network failure (no HTTP answer) in words: refused, DNS, timeout, TLS; `setting` is where the command takes the API URL from. */
function networkProblem(error: any, setting: string): string | undefined {
  const cause = error?.cause?.cause ?? error?.cause;
  const code = cause?.code ?? error?.code;
  const where = cause?.hostname ?? cause?.address ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused${where ? ` by ${where}${cause?.port ? `:${cause.port}` : ''}` : ''}: nothing listens at the API URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${where || 'the API host'}: check ${setting}`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `no answer in time (timeout): check ${setting} and the network`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    default:
      return code ? `network error ${code}${cause?.message ? ` (${cause.message})` : ''}` : undefined;
  }
}

/** Text from an answer, on one line and short: a proxy's HTML page or a multi-line message must not flood the terminal. */
export function oneLine(text: unknown): string {
  // Masked first: a cut or a stripped tag must not leave part of a secret.
  const flat = redact(String(text ?? '')).replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}

/** The HTTP status and detail of a failed call, whichever client made it (Octokit, gitbeaker, gitea-js, ours). */
function answerOf(error: any): { status: number; detail: string; rateLimited: boolean } | undefined {
  if (error instanceof ApiAnswerError) return { status: error.status, detail: error.detail, rateLimited: error.status === 429 };
  // Octokit: RequestError with status and response.
  if (typeof error?.status === 'number' && error?.response !== undefined && !(error instanceof Response)) {
    const data = error.response?.data;
    const detail = data?.errors?.map?.((item: any) => item.message ?? item.code).join('; ') || data?.message || (typeof data === 'string' ? data : '') || error.message;
    return { status: error.status, detail, rateLimited: error.response?.headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(String(detail)) };
  }
  // gitbeaker: GitbeakerRequestError with cause.response.
  const gitbeaker = error?.cause?.response;
  if (gitbeaker instanceof Response) return { status: gitbeaker.status, detail: error.cause?.description ?? error.message, rateLimited: gitbeaker.status === 429 };
  // gitea-js rejects with the response itself, its error body in .error.
  if (error instanceof Response) return { status: error.status, detail: (error as any).error?.message ?? error.statusText, rateLimited: error.status === 429 };
  return undefined;
}

export interface HostWords {
  /** GitHub, GitLab... */
  readonly name: string;
  /** The API root the call went to: a 401 names its host's token variable. */
  readonly apiUrl: URL;
  /** What the token must be allowed to do, for a 403/404. */
  readonly rights: string;
  /** Where the command takes the API URL from, for a host that cannot be reached. @default --api-url */
  readonly apiSetting?: string;
}

/** The API URL's place for commands that have no --api-url: each source's own. */
export const SOURCE_API_SETTING = 'the source\'s apiUrl in fleet.yaml';

/** A host API's answer, or the failure to get one, in the user's words: one line. */
export function explainApiError(host: HostWords, error: any, subject: string): Error {
  if (error instanceof CommandError) return error;
  const refused = [error, error?.cause].find((candidate) => candidate instanceof OffOriginError || candidate instanceof BoundExceeded);
  if (refused) return new CommandError(`${host.name} API call for ${subject} stopped: ${refused.message}`);
  const answer = answerOf(error);
  if (answer === undefined) {
    const network = networkProblem(error, host.apiSetting ?? '--api-url');
    return new CommandError(network
      ? `${host.name} API call for ${subject} got no answer: ${network}`
      : `${host.name} API call for ${subject} failed: ${oneLine(error?.message ?? error)}`);
  }
  const { status, rateLimited } = answer;
  const detail = oneLine(answer.detail) || 'no detail given';
  if (rateLimited && (status === 403 || status === 429)) {
    return new CommandError(`${host.name}'s rate limit for this token is used up (${status}): wait until it resets and run again`);
  }
  switch (status) {
    case 401:
      return new CommandError(`${host.name} refused the token (401): ${tokenVariableWords(host.apiUrl)} is missing, wrong or expired`);
    case 403:
    case 404:
      return new CommandError(`${host.name} answered ${status} for ${subject}: it does not exist for this token, or the token lacks the rights (${host.rights})`);
    case 400:
    case 422:
      return new CommandError(`${host.name} refused the request for ${subject} (${status}): ${detail}`);
    default:
      return new CommandError(`${host.name} API call for ${subject} failed (HTTP ${status}): ${detail}`);
  }
}

/** A source's API root, checked (apiOrigin), and the token of that API host's own variable where set (never another host's). */
export function sourceApi(source: { readonly apiUrl?: string }, host: GitHost, repository: RepositoryRef, env: NodeJS.ProcessEnv, options: { readonly apiUrl?: string; readonly allowHttp?: boolean } = {}): { apiUrl: URL; token: string | undefined } {
  const apiUrl = apiOrigin(sourceApiUrl(source, host, repository, options.apiUrl), options.allowHttp);
  return { apiUrl, token: hostToken(apiUrl, env).token };
}
