// `webhook ping` over HTTPS, against real TLS servers on loopback with certificates from a private CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ping } from '../tools/webhook/ping';
import { testCa, TestCa } from './support/certificates';
import { PROCESS_TEST_TIMEOUT, runScript, startScript } from './support/cli';
import { BASE_FLEET } from './support/fleet';
import { listen, receiverServer } from './support/servers';
import { TOKEN } from './support/synth';
import { workspace } from './support/tree';

const ENV = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
const RECEIVER = { token: TOKEN, name: 'instavote', namespace: 'flux-system', events: ['ping', 'push'] };

let ca: TestCa;
let folder: string;
let caFile: string;

beforeAll(async () => {
  ca = await testCa();
  folder = mkdtempSync(join(tmpdir(), 'ca-'));
  caFile = join(folder, 'ca.pem');
  writeFileSync(caFile, ca.cert);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function pingOnce(url: string, options: { caFile?: string } = {}) {
  const [outcome] = await ping('staging', { ...workspace(BASE_FLEET), env: ENV, url, timeoutMs: 5000, ...options });
  return outcome;
}

test('a Receiver behind HTTPS with a private CA is accepted when --ca-file names the CA', async () => {
  const receiver = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost']) });
  try {
    const outcome = await pingOnce(receiver.url, { caFile });
    expect(outcome).toMatchObject({ accepted: true, status: 200 });
    expect(receiver.deliveries).toHaveLength(1);
  } finally {
    await receiver.close();
  }
});

test('--ca-file through a link (as system bundles are) is read; a FIFO there is usage in one line, not a hang', async () => {
  const receiver = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost']) });
  const link = join(folder, 'linked-ca.pem');
  symlinkSync(caFile, link);
  const fifo = join(folder, 'ca.fifo');
  execFileSync('mkfifo', [fifo]);
  try {
    expect(await pingOnce(receiver.url, { caFile: link })).toMatchObject({ accepted: true, status: 200 });
    // Only a hang reaches the bound; the process is then killed and signal says so.
    const run = runScript(workspace(BASE_FLEET), 'webhook', ['ping', 'staging', '--url', receiver.url, '--ca-file', fifo], ENV, 20_000);
    expect({ signal: run.signal, status: run.status, stderr: run.stderr }).toEqual({
      signal: null,
      status: 2,
      stderr: `error: --ca-file ${fifo} is not a regular file (a folder, FIFO, socket or device), which flux-infra never reads: move it away\n`,
    });
    expect(receiver.deliveries).toHaveLength(1);
  } finally {
    rmSync(link);
    rmSync(fifo);
    await receiver.close();
  }
}, PROCESS_TEST_TIMEOUT);

test('without --ca-file the unknown CA is one line, and nothing is delivered', async () => {
  const receiver = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost']) });
  try {
    const outcome = await pingOnce(receiver.url);
    expect(outcome.accepted).toBe(false);
    expect(outcome.explanation).toMatch(/^the certificate of localhost:\d+ is not signed by a CA this machine trusts \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): for a private CA, pass it with --ca-file; the Git host must trust it too, or it refuses to deliver$/);
    expect(outcome.explanation).not.toContain('\n');
    expect(receiver.deliveries).toEqual([]);
    // Another CA's file does not make it trusted.
    const other = await testCa('another CA');
    const otherFile = join(folder, 'other.pem');
    writeFileSync(otherFile, other.cert);
    expect((await pingOnce(receiver.url, { caFile: otherFile })).explanation).toContain(`${otherFile} did not sign it either`);
  } finally {
    await receiver.close();
  }
});

test('a certificate for another name and an expired one are each named as such', async () => {
  const wrongName = await receiverServer({ ...RECEIVER, tls: await ca.issue(['hooks.example.com']) });
  const expired = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost'], { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }) });
  try {
    expect((await pingOnce(wrongName.url, { caFile })).explanation).toMatch(/^the certificate of localhost:\d+ is not for that name \(Host: localhost\. is not in the cert's altnames: DNS:hooks\.example\.com\): /);
    expect((await pingOnce(expired.url, { caFile })).explanation).toMatch(/^the certificate of localhost:\d+ has expired: renew it/);
  } finally {
    await Promise.all([wrongName.close(), expired.close()]);
  }
});

test('an https URL answered in plain HTTP, and an http URL sent to an HTTPS port, are explained', async () => {
  const plain = await listen((_request, response) => response.writeHead(200).end());
  const tls = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost', '127.0.0.1']) });
  // A Go server (a gateway, notification-controller itself behind TLS) answers plain HTTP with this 400.
  const goLike = await listen((_request, response) => response.writeHead(400).end('Client sent an HTTP request to an HTTPS server.\n'));
  try {
    expect((await pingOnce(plain.url.replace('http://', 'https://'), { caFile })).explanation).toMatch(/^127\.0\.0\.1:\d+ answered an https:\/\/ URL in plain HTTP: /);
    expect((await pingOnce(tls.url.replace('https://localhost', 'http://127.0.0.1'))).explanation).toMatch(/^127\.0\.0\.1:\d+ closed the connection without an answer to plain HTTP: if that port serves HTTPS, the URL must start with https:\/\/$/);
    expect((await pingOnce(goLike.url)).explanation).toMatch(/^rejected \(400\) by a TLS server that was sent plain HTTP: /);
  } finally {
    await Promise.all([plain.close(), tls.close(), goLike.close()]);
  }
});

test('a 308 (an HTTP to HTTPS redirect) is explained as a redirect, not followed', async () => {
  let requests = 0;
  const redirecting = await listen((request, response) => {
    requests++;
    response.writeHead(308, { location: `https://hooks.example.com${request.url}` }).end();
  });
  try {
    const outcome = await pingOnce(redirecting.url);
    expect(outcome).toMatchObject({ accepted: false, status: 308 });
    expect(outcome.explanation).toMatch(/^redirected \(308\) to https:\/\/hooks\.example\.com\/hook\/[0-9a-f]{64}: Git hosts do not follow redirects/);
    expect(requests).toBe(1);
  } finally {
    await redirecting.close();
  }
});

test('the command line takes --ca-file, and refuses a file that is not a certificate in one line', async () => {
  const receiver = await receiverServer({ ...RECEIVER, tls: await ca.issue(['localhost']) });
  const ws = workspace(BASE_FLEET);
  const keyFile = join(folder, 'key.pem');
  writeFileSync(keyFile, ca.key);
  try {
    const accepted = await startScript(ws, 'webhook', ['ping', 'staging', '--url', receiver.url, '--ca-file', caFile], ENV);
    expect(accepted).toMatchObject({ status: 0, stdout: expect.stringContaining('ok instavote: accepted') });
    const notCertificate = await startScript(ws, 'webhook', ['ping', 'staging', '--url', receiver.url, '--ca-file', keyFile], ENV);
    expect(notCertificate.status).toBe(2);
    expect(notCertificate.stderr.trim()).toBe(`error: --ca-file ${keyFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate, not its key`);
    await expect(pingOnce(receiver.url, { caFile: join(folder, 'missing.pem') })).rejects.toThrow(`--ca-file ${join(folder, 'missing.pem')}: cannot read it (ENOENT)`);
    expect(receiver.deliveries).toHaveLength(1);
  } finally {
    await receiver.close();
  }
}, PROCESS_TEST_TIMEOUT);

test('a TLS port that never answers the handshake is a timeout, not a certificate problem', async () => {
  const sockets: Socket[] = [];
  const silent = createNetServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const [outcome] = await ping('staging', { ...workspace(BASE_FLEET), env: ENV, url: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: 300 });
    expect(outcome.explanation).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 0\.3s/);
  } finally {
    sockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('behind a gateway, a proxy\'s own 502 and 503 point at the way to webhook-receiver, not at the Receiver', async () => {
  const fleet = BASE_FLEET.replace('      nodePort: 31234\n', '      gateway: {parentRef: {name: public, namespace: gateway-system}, hostname: hooks.example.com}\n');
  const envoy = await listen((request, response) => {
    if (request.headers['x-github-event'] === 'push') response.writeHead(502).end();
    else response.writeHead(503, { server: 'envoy' }).end('no healthy upstream');
  });
  try {
    const ws = workspace(fleet);
    const [badGateway] = await ping('staging', { ...ws, env: ENV, url: envoy.url, event: 'push' });
    expect(badGateway.explanation).toMatch(/^the proxy in front answered 502 itself: Gateway gateway-system\/public cannot reach Service webhook-receiver: no ready notification-controller .*Cilium's ingress identity/);
    const [unavailable] = await ping('staging', { ...ws, env: ENV, url: envoy.url });
    expect(unavailable.explanation).toMatch(/^the proxy in front answered 503 itself: Gateway gateway-system\/public cannot reach/);
    // Straight to a NodePort, a 503 with a body is no Receiver's: notification-controller answers with a status alone.
    const [receiver] = await ping('staging', { ...workspace(BASE_FLEET), env: ENV, url: envoy.url });
    expect(receiver.explanation).toMatch(/^HTTP 503 from http:\/\/127\.0\.0\.1:\d+, which is not notification-controller's answer \(it has a body, "no healthy upstream"; the controller answers with a status alone\): the delivery did not reach a Receiver/);
  } finally {
    await envoy.close();
  }
});
