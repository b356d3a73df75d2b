// The Octokit client for GitHub's REST API, kept to its origin: GITHUB_TOKEN and the webhook secret
// go to the configured API origin only. No redirect is followed (fetch would re-send a POST body,
// webhook secret included, to wherever GitHub or a proxy points), a pagination link to another
// origin is refused, and plain http is refused except on loopback or when asked for.
import { isIP } from 'node:net';
import { Octokit } from '@octokit/rest';
import { CommandError, UsageError } from '../common';

export const GITHUB_API = 'https://api.github.com';

export interface GithubClientOptions {
  /** REST API root (GitHub Enterprise: https://ghe.example.com/api/v3). @default https://api.github.com */
  readonly apiUrl?: string;
  /** @default - no token: public endpoints only (such as /meta), at a lower rate limit */
  readonly token?: string;
  /** Allow an http:// API root that is not on loopback (the token then travels in clear). @default false */
  readonly allowHttp?: boolean;
}

/** A request the client refused to send or to follow; the message is one line for the user. */
class OffOriginError extends Error {}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The API root as a URL, or a UsageError saying what is wrong with it. */
export function apiOrigin(apiUrl: string | undefined, allowHttp = false): URL {
  let url: URL;
  try {
    url = new URL(apiUrl ?? GITHUB_API);
  } catch {
    throw new UsageError(`--api-url "${apiUrl}" is not a URL: give e.g. https://ghe.example.com/api/v3`);
  }
  if (url.username || url.password) {
    throw new UsageError('--api-url carries credentials: give the API URL alone and the token in GITHUB_TOKEN');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--api-url "${apiUrl}" must be https://`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowHttp) {
    throw new UsageError(`--api-url "${apiUrl}" is plain http, which would send GITHUB_TOKEN and the webhook secret in clear: use https:// (or --allow-http if the network is yours)`);
  }
  return url;
}

/** Octokit whose every request stays on the API's origin and never follows a redirect. */
export function githubClient(options: GithubClientOptions): Octokit {
  const base = apiOrigin(options.apiUrl, options.allowHttp);
  const confined: typeof fetch = async (input, init) => {
    const target = new URL(input instanceof Request ? input.url : String(input));
    if (target.origin !== base.origin) {
      throw new OffOriginError(`refused to send a request to ${target.origin}, which is not the API's origin ${base.origin} (a pagination link pointed there); the token stays with the API`);
    }
    const response = await fetch(input, { ...init, redirect: 'manual' });
    if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
      await response.arrayBuffer();
      throw new OffOriginError(`the API answered ${response.status} redirecting to ${response.headers.get('location')}, which is not followed (it would re-send the token and the webhook secret): give the API's final URL with --api-url`);
    }
    return response;
  };
  // Octokit logs failed requests itself; ours are explained once, by explainGithubError.
  const quiet = { debug: () => undefined, info: () => undefined, warn: console.warn, error: () => undefined };
  return new Octokit({ auth: options.token, baseUrl: base.href.replace(/\/$/, ''), userAgent: 'flux-infra', log: quiet, request: { fetch: confined } });
}

/** A network failure (no HTTP answer) in words: refused, DNS, timeout, TLS. */
function networkProblem(error: any): string | undefined {
  const cause = error?.cause?.cause ?? error?.cause;
  const code = cause?.code ?? error?.code;
  const where = cause?.hostname ?? cause?.address ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused${where ? ` by ${where}${cause?.port ? `:${cause.port}` : ''}` : ''}: nothing listens at the API URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${where || 'the API host'}: check --api-url`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'no answer in time (timeout): check --api-url and the network';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    default:
      return code ? `network error ${code}${cause?.message ? ` (${cause.message})` : ''}` : undefined;
  }
}

/** Text from an answer, on one line and short: a proxy's HTML page or a multi-line message must not flood the terminal. */
function oneLine(text: unknown): string {
  const flat = String(text ?? '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}

/** GitHub's answer, or the failure to get one, in the user's words: one line. */
export function explainGithubError(error: any, repository: string): Error {
  if (error instanceof CommandError) return error;
  const refused = [error, error?.cause].find((candidate) => candidate instanceof OffOriginError);
  if (refused) return new CommandError(`GitHub API call for ${repository} stopped: ${refused.message}`);
  if (typeof error?.status !== 'number' || error?.response === undefined) {
    const network = networkProblem(error);
    return new CommandError(network
      ? `GitHub API call for ${repository} got no answer: ${network}`
      : `GitHub API call for ${repository} failed: ${oneLine(error?.message ?? error)}`);
  }
  const status = error.status;
  const data = error.response?.data;
  const detail = oneLine(data?.errors?.map?.((item: any) => item.message ?? item.code).join('; ') || data?.message || (typeof data === 'string' ? data : '') || error.message) || 'no detail given';
  if (status === 403 && (error.response?.headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(detail))) {
    return new CommandError(`GitHub's rate limit for this token is used up (403): wait until it resets (x-ratelimit-reset) and run again`);
  }
  switch (status) {
    case 401:
      return new CommandError('GitHub refused the token (401): GITHUB_TOKEN is missing, wrong or expired');
    case 403:
    case 404:
      return new CommandError(`GitHub answered ${status} for ${repository}: the repository does not exist for this token, or the token lacks admin rights on it (classic: admin:repo_hook scope; fine-grained: Webhooks read and write)`);
    case 422:
      return new CommandError(`GitHub refused the hook for ${repository} (422): ${detail}`);
    default:
      return new CommandError(`GitHub API call for ${repository} failed (HTTP ${status}): ${detail}`);
  }
}
