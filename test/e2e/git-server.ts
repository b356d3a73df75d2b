// A Git smart-HTTP server on loopback, over HTTPS with the suite's CA (the fleet file takes only
// https:// and ssh:// sources): git's own `git http-backend` CGI behind a small Node server, so
// source-controller's go-git clones from real Git. Repositories are bare folders under `root`.
import { spawn } from 'node:child_process';
import { Certificate } from '../support/certificates';
import { listen } from '../support/servers';

export interface GitServer {
  /** https://127.0.0.1:<port>: a repository `name` is at `${url}/${name}.git`. */
  readonly url: string;
  /** Requests served, newest last ("GET /fleet.git/info/refs?service=git-upload-pack"), for checks and logs. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Splits a CGI answer into its status, headers and body. */
function parseCgi(output: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  let end = output.indexOf('\r\n\r\n');
  let separator = 4;
  if (end < 0) {
    end = output.indexOf('\n\n');
    separator = 2;
  }
  if (end < 0) return { status: 502, headers: {}, body: Buffer.from('git http-backend gave no headers\n') };
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of output.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers[name] = value;
  }
  return { status, headers, body: output.subarray(end + separator) };
}

/** Starts the server on 127.0.0.1 (a free port), serving the bare repositories in `root` read-only. */
export async function startGitServer(root: string, tls: Certificate): Promise<GitServer> {
  const requests: string[] = [];
  // By address: the suite's certificate names 127.0.0.1.
  const { url: origin, close } = await listen((request, response) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: request.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: request.socket.remoteAddress ?? '',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    request.pipe(child.stdin);
    child.on('close', () => {
      const { status, headers, body } = parseCgi(Buffer.concat(chunks));
      if (status >= 400 && errors.length > 0) requests.push(`  git http-backend: ${Buffer.concat(errors).toString('utf8').trim()}`);
      response.writeHead(status, headers).end(body);
    });
    child.on('error', (error) => response.writeHead(500).end(`${error.message}\n`));
  }, tls, '127.0.0.1');
  return { url: origin, requests, close };
}
