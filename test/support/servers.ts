import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { Certificate } from './certificates';

/**
 * Starts `handler` on an ephemeral loopback port; with `tls`, over HTTPS with that certificate, at
 * https://<urlHost>:<port>: the name the certificate carries, localhost unless it names the address.
 */
export async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void, tls?: Certificate, urlHost: 'localhost' | '127.0.0.1' = 'localhost'): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server: Server = tls === undefined ? createServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: tls === undefined ? `http://127.0.0.1:${port}` : `https://${urlHost}:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A request a stand-in received. */
export interface Recorded {
  method: string;
  /** The path and query as sent (still URL-encoded). */
  url: string;
  headers: IncomingMessage['headers'];
  /** The body parsed as JSON; as sent when it is not JSON; undefined when empty. */
  body: any;
  /** The body as sent. */
  raw: string;
}

/** A loopback stand-in for a Git host's API that records each request and answers with `route` (404 when it sends nothing). */
export async function standIn(route: (request: Recorded, send: (status: number, data: unknown, headers?: Record<string, string>) => void) => void) {
  const requests: Recorded[] = [];
  const server = await listen(async (request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    for await (const chunk of request) raw += chunk;
    let body: any;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const recorded = { method: request.method!, url: request.url!, headers: request.headers, body, raw };
    requests.push(recorded);
    let answered = false;
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      answered = true;
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(data));
    };
    route(recorded, send);
    if (!answered) send(404, { message: '404 Not Found' });
  });
  return { ...server, requests };
}

/** A loopback stand-in for GitHub's GET /meta, answering `body` (404 elsewhere) and recording each request's path and credentials. */
export async function metaServer(body: unknown) {
  const requests: { url?: string; authorization?: string }[] = [];
  const server = await listen((request, response) => {
    requests.push({ url: request.url, authorization: request.headers.authorization });
    if (request.url !== '/meta') return void response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return { ...server, requests };
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface Delivery {
  readonly headers: IncomingMessage['headers'];
  readonly body: any;
}

/** What each Receiver type checks, as notification-controller's receiver_handlers.go does (with node:crypto only). */
const CHECKS: Record<string, { event(headers: IncomingMessage['headers']): string | undefined; valid(headers: IncomingMessage['headers'], body: Buffer, token: string): boolean }> = {
  github: {
    event: (headers) => String(headers['x-github-event'] ?? ''),
    valid: (headers, body, token) => same(headers['x-hub-signature-256'], `sha256=${createHmac('sha256', token).update(body).digest('hex')}`),
  },
  gitlab: {
    event: (headers) => String(headers['x-gitlab-event'] ?? ''),
    valid: (headers, _body, token) => same(headers['x-gitlab-token'], token),
  },
  bitbucket: {
    event: (headers) => String(headers['x-event-key'] ?? ''),
    valid: (headers, body, token) => same(headers['x-hub-signature'], `sha256=${createHmac('sha256', token).update(body).digest('hex')}`),
  },
  'generic-hmac': {
    event: () => undefined,
    valid: (headers, body, token) => same(headers['x-signature'], `sha256=${createHmac('sha256', token).update(body).digest('hex')}`),
  },
};

function same(given: string | string[] | undefined, expected: string): boolean {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A stand-in for notification-controller's receiver server, checking a delivery the way it does for
 * its `type` (default github), with node:crypto only (independent of the code under test): 413 over
 * 3 MiB, 404 unless the path is /hook/sha256(token+name+namespace), 400 unless the signature or token
 * checks out with `signingToken` and the event is in `events` (case-insensitive; none for
 * generic-hmac), else 200.
 */
export async function receiverServer(options: { token: string; name: string; namespace: string; events: string[]; signingToken?: string; tls?: Certificate; type?: string }) {
  const deliveries: Delivery[] = [];
  const check = CHECKS[options.type ?? 'github'];
  const path = `/hook/${createHash('sha256').update(options.token + options.name + options.namespace).digest('hex')}`;
  const listening = await listen(async (request, response) => {
    const body = await readBody(request, 3 * 1024 * 1024);
    if (body === undefined) {
      response.writeHead(413).end();
      return;
    }
    if (request.method !== 'POST' || request.url !== path) {
      response.writeHead(404).end();
      return;
    }
    const event = check.event(request.headers)?.toLowerCase();
    const events = options.events.map((name) => name.toLowerCase());
    if (!check.valid(request.headers, body, options.signingToken ?? options.token) || (event !== undefined && events.length > 0 && !events.includes(event))) {
      response.writeHead(400).end();
      return;
    }
    deliveries.push({ headers: request.headers, body: JSON.parse(body.toString('utf8')) });
    response.writeHead(200).end();
  }, options.tls);
  return { ...listening, path, deliveries };
}
