// Every request a webhook command makes to a server is bounded, whichever client library makes it:
// one deadline for the whole command (--timeout), which also stops a server that trickles its
// answer; a size limit on each answer, counted while it streams in; no redirect followed (every
// request carries a credential, which would go wherever the Location points); a page limit for every
// paginated list. Each bound stops the command with one line. The clients (Octokit, gitbeaker,
// gitea-js, Bitbucket's calls, the Kubernetes client) all send through boundedFetch or, for the
// Kubernetes client's agent, the same checks (kube-http.ts).
import { UsageError } from '../common';

/** No answer these commands read comes near this (GitHub's /meta, the largest, is well under 1 MiB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Pages of 100 hooks (Gitea: 50): far more than any repository has. */
export const MAX_PAGES = 20;
export const DEFAULT_TIMEOUT_SECONDS = 60;
/** ping's one request to a Receiver, which answers at once or not at all. */
export const PING_TIMEOUT_MS = 10_000;
const TIMEOUT_RANGE = { min: 0.1, max: 3600 } as const;

/** A bound a request ran into; its message is one line for the user. */
export class BoundExceeded extends Error {}

const timeoutProblem = (option: string, given: string) => `${option} ${given} must be a number of seconds from ${TIMEOUT_RANGE.min} to ${TIMEOUT_RANGE.max}, e.g. 30`;

/** Milliseconds from a --timeout's seconds: a plain decimal number within the range, else a UsageError naming the option. */
export function timeoutMilliseconds(value: string, option = '--timeout'): number {
  const seconds = /^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
  return checkedTimeout(seconds * 1000, option, JSON.stringify(value));
}

/** A timeout given in milliseconds (the commands' option objects), checked against the same range. */
export function checkedTimeout(milliseconds: number, option = '--timeout', given = `${milliseconds / 1000}`): number {
  if (!(milliseconds >= TIMEOUT_RANGE.min * 1000 && milliseconds <= TIMEOUT_RANGE.max * 1000)) throw new UsageError(timeoutProblem(option, given));
  return milliseconds;
}

/** What bounds every request of one command. */
export interface RequestBounds {
  /** Aborts every request when the command's time is up. */
  readonly signal: AbortSignal;
  /** For messages: the option that sets the time, with its value (e.g. `--timeout 60s`). */
  readonly limit: string;
  readonly maxBodyBytes: number;
}

/**
 * The bounds of a command that starts now: its deadline `timeoutMs` from now (plus `extraMs`, such
 * as verify's --wait, named in `limit`).
 */
export function requestBounds(timeoutMs: number = DEFAULT_TIMEOUT_SECONDS * 1000, extra: { ms: number; limit: string } = { ms: 0, limit: '' }): RequestBounds {
  checkedTimeout(timeoutMs);
  // Timers take at most 2^31-1 ms (24.8 days); a longer --wait would otherwise fire at once.
  const total = Math.min(timeoutMs + extra.ms, 2 ** 31 - 1);
  return { signal: AbortSignal.timeout(total), limit: `${extra.limit}--timeout ${timeoutMs / 1000}s`, maxBodyBytes: MAX_BODY_BYTES };
}

/** The one line for a request the deadline stopped, or for one asked for after it. */
function deadlineError(bounds: RequestBounds, url: URL, before: boolean): BoundExceeded {
  return new BoundExceeded(before
    ? `the command's time (${bounds.limit}) was up before ${url.host} was asked: raise --timeout if the servers are only slow`
    : `no complete answer from ${url.host} within the command's time (${bounds.limit}): it answers too slowly or stalls; raise --timeout if it is only slow`);
}

/** `error`, or the deadline's one line when the deadline is what stopped the request. */
export function deadlineOr(error: unknown, bounds: RequestBounds, url: URL): unknown {
  return bounds.signal.aborted && !(error instanceof BoundExceeded) ? deadlineError(bounds, url, false) : error;
}

/** Throws the deadline's one line if the command's time is already up. */
export function checkDeadline(bounds: RequestBounds, url: URL): void {
  if (bounds.signal.aborted) throw deadlineError(bounds, url, true);
}

/** A redirect refused: its status kept for a caller that knows what the host means by it (GitHub's 301 for a renamed repository). */
export class RedirectRefused extends BoundExceeded {
  public constructor(message: string, public readonly status: number) {
    super(message);
  }
}

/** A 3xx that names a Location: refused, naming only where it points (its origin), never followed. */
export function redirectRefused(status: number, location: string | null | undefined, url: URL, fix: string): RedirectRefused | undefined {
  if (status < 300 || status >= 400 || !location) return undefined;
  let target: string;
  try {
    target = new URL(location, url).origin;
  } catch {
    target = 'a Location that is not a URL';
  }
  return new RedirectRefused(`${url.origin} answered ${status} redirecting to ${target}, which is not followed (the request carries credentials): ${fix}`, status);
}

function tooLarge(bounds: RequestBounds, url: URL): BoundExceeded {
  return new BoundExceeded(`the answer of ${url.host} is over ${bounds.maxBodyBytes / 1024 / 1024} MiB, more than any answer read here: it was not read further (is this the API it should be?)`);
}

/** An answer's bytes, read while they stream in and refused once over the limit (a declared Content-Length over it is refused unread). */
export async function readBounded(body: AsyncIterable<Uint8Array> | null, bounds: RequestBounds, url: URL, declaredLength?: string | null): Promise<Buffer> {
  if (declaredLength && Number(declaredLength) > bounds.maxBodyBytes) throw tooLarge(bounds, url);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, which closes the connection.
  for await (const chunk of body ?? []) {
    size += chunk.byteLength;
    if (size > bounds.maxBodyBytes) throw tooLarge(bounds, url);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The first `limit` bytes of an answer as text; the rest is not read (the connection is closed). */
export async function readPrefix(response: { readonly body: AsyncIterable<Uint8Array> | null }, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** Statuses whose Response may have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * A fetch within `bounds`: the command's deadline on every request (the client's own signal kept
 * too), no redirect followed (refused in one line ending with `fix`), the whole answer read here
 * within the size limit before the client sees it: the clients read bodies themselves and some
 * swallow a failed read (Octokit and gitea-js answer it as an empty body).
 */
export function boundedFetch(bounds: RequestBounds, fix: string, fetchImpl: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    checkDeadline(bounds, url);
    const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = own ? AbortSignal.any([bounds.signal, own]) : bounds.signal;
    try {
      const response = await fetchImpl(input, { ...init, redirect: 'manual', signal });
      const refused = redirectRefused(response.status, response.headers.get('location'), url, fix);
      if (refused) {
        await response.body?.cancel();
        throw refused;
      }
      const bytes = await readBounded(response.body, bounds, url, response.headers.get('content-length')).catch(async (error) => {
        // A body refused unread still holds the connection.
        await response.body?.cancel().catch(() => undefined);
        throw error;
      });
      const read = new Response(NULL_BODY.has(response.status) ? null : bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
      // Octokit reports the URL of the answer.
      Object.defineProperty(read, 'url', { value: response.url });
      return read;
    } catch (error) {
      throw deadlineOr(error, bounds, url);
    }
  };
}

/**
 * Counts the pages of one list: call it once per page received; past `limit` pages it throws, so a
 * server whose "next" never ends cannot keep the command (and the token) going.
 */
export function pageGuard(list: string, limit = MAX_PAGES): () => void {
  let pages = 0;
  return () => {
    if (++pages > limit) throw new BoundExceeded(`${list} goes on past ${limit} pages (its next-page link never ends): stopped; check that the API URL is the host's REST API`);
  };
}
