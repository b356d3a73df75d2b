// The control plane the end-to-end suite judges our output with: etcd, kube-apiserver and the three
// Flux controllers a push goes through, as local processes on 127.0.0.1 (free ports, nothing fixed),
// with a throwaway PKI and a static token. Every process and file is the run's own and is removed
// by stop(). This file does I/O.
import { ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:https';
import { testCa } from '../support/certificates';
import { kubeconfigText } from '../support/kubeconfig';
import { BuiltComponent } from './build';
import { crdsEstablished, fileTail, kubectlWith } from './support';

/** What the tests need to reach the control plane; written as JSON for the test processes. */
export interface ControlPlaneInfo {
  /** The run's folder: kubeconfig, PKI, logs, git repositories. */
  readonly dir: string;
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly apiServer: string;
  /**
   * The suite's CA (PEM file): it signed the API server's, the Git server's and the OIDC issuer's
   * certificates; notification-controller trusts it (SSL_CERT_FILE).
   */
  readonly caFile: string;
  readonly caKeyFile: string;
  /** http://127.0.0.1:<port>: notification-controller's webhook receiver. */
  readonly receiver: string;
  readonly logs: Record<string, string>;
}

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

/** A port free on 127.0.0.1 now (the process started next binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GET `url` with the CA and token; the status, or undefined when nothing answers yet. */
function probe(url: string, ca: string, token?: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const call = request(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    call.on('error', () => resolve(undefined));
    call.on('timeout', () => call.destroy());
    call.end();
  });
}

export class ControlPlane {
  private readonly running: Running[] = [];
  private stopped = false;

  private constructor(
    public readonly info: ControlPlaneInfo,
    private readonly log: (line: string) => void,
  ) {}

  /** The last lines of a process's log, for a failure message. */
  public tail(name: string, lines = 20): string {
    return fileTail(this.info.logs[name], lines);
  }

  private start(name: string, binary: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const log = join(this.info.dir, 'logs', `${name}.log`);
    const descriptor = openSync(log, 'a');
    // Its own process group: stop() ends it and whatever it started, and a Ctrl-C at the terminal
    // reaches our handler first, which stops everything in order.
    const child = spawn(binary, args, { cwd: this.info.dir, env: { PATH: process.env.PATH, HOME: this.info.dir, ...env }, stdio: ['ignore', descriptor, descriptor], detached: true });
    closeSync(descriptor);
    this.running.push({ name, child, log });
    this.info.logs[name] = log;
    child.on('exit', (code, signal) => {
      if (!this.stopped) this.log(`${name} exited (${signal ?? `code ${code}`}) before the suite stopped it; its log: ${log}\n${this.tail(name)}`);
    });
    return child;
  }

  private async waitFor(name: string, what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
    const startedAt = Date.now();
    const child = this.running.find((process) => process.name === name)?.child;
    while (Date.now() - startedAt < timeoutMs) {
      if (child && child.exitCode !== null) throw new Error(`${name} exited (code ${child.exitCode}) while starting:\n${this.tail(name)}`);
      if (await check()) {
        this.log(`${name} ${what} in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
        return;
      }
      await sleep(250);
    }
    throw new Error(`${name} did not become ${what} within ${timeoutMs / 1000}s:\n${this.tail(name)}`);
  }

  /** kubectl against this control plane, as a user runs it; stdout, or an Error with its stderr. */
  public kubectl(args: string[], input?: string): string {
    return kubectlWith(this.info.kubeconfig, args, input);
  }

  /**
   * Starts etcd and kube-apiserver (envtest's recipe), installs the controllers' CRDs from their own
   * modules, then starts source-, kustomize- and notification-controller out of cluster.
   */
  public static async start(dir: string, built: Record<string, BuiltComponent>, log: (line: string) => void): Promise<ControlPlane> {
    for (const folder of ['logs', 'pki', 'etcd', 'storage']) mkdirSync(join(dir, folder), { recursive: true, mode: 0o700 });
    const ca = await testCa('flux-infra e2e CA');
    const serving = await ca.issue(['127.0.0.1', 'localhost']);
    const pki = join(dir, 'pki');
    const write = (name: string, content: string) => {
      writeFileSync(join(pki, name), content, { mode: 0o600 });
      return join(pki, name);
    };
    const caFile = write('ca.crt', ca.cert);
    const caKeyFile = write('ca.key', ca.key);
    const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = randomBytes(24).toString('hex');
    const [etcdClient, etcdPeer, apiPort, receiverPort, eventsPort, storagePort] = await Promise.all(Array.from({ length: 6 }, freePort));
    const apiServer = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigText(apiServer, ca.cert, { token }), { mode: 0o600 });
    const plane = new ControlPlane({ dir, kubeconfig, apiServer, caFile, caKeyFile, receiver: `http://127.0.0.1:${receiverPort}`, logs: {} }, log);
    try {
      const etcdUrl = `http://127.0.0.1:${etcdClient}`;
      plane.start('etcd', built.etcd.binary, [
        '--data-dir', join(dir, 'etcd'),
        '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
      ]);
      await plane.waitFor('etcd', 'healthy', async () => {
        try {
          return (await fetch(`${etcdUrl}/health`)).ok;
        } catch {
          return false;
        }
      });
      plane.start('kube-apiserver', built['kube-apiserver'].binary, [
        '--etcd-servers', etcdUrl,
        '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(apiPort),
        '--tls-cert-file', write('apiserver.crt', serving.cert), '--tls-private-key-file', write('apiserver.key', serving.key),
        // A range nothing here ever dials (no kube-proxy runs).
        '--service-cluster-ip-range', '10.96.0.0/24',
        '--allow-privileged=true', '--disable-admission-plugins', 'ServiceAccount', '--authorization-mode', 'RBAC',
        '--service-account-issuer', apiServer,
        '--service-account-key-file', write('sa.pub', serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
        '--service-account-signing-key-file', write('sa.key', serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
        '--token-auth-file', write('tokens.csv', `${token},admin,admin,system:masters\n`),
      ]);
      await plane.waitFor('kube-apiserver', 'ready', async () => (await probe(`${apiServer}/readyz`, ca.cert, token)) === 200);
      const crdFolders = Object.values(built).filter((item) => item.component.crds).map((item) => join(item.moduleDir, 'config', 'crd', 'bases'));
      for (const folder of crdFolders) {
        plane.kubectl(['apply', '--server-side', ...readdirSync(folder).filter((file) => file.endsWith('.yaml')).flatMap((file) => ['-f', join(folder, file)])]);
      }
      await crdsEstablished(undefined, (args) => plane.kubectl(args));
      log(`installed the CRDs of ${crdFolders.length} controllers`);

      const controllerEnv = { KUBECONFIG: kubeconfig };
      const ports = async () => ({ metrics: await freePort(), health: await freePort() });
      const source = await ports();
      plane.start('source-controller', built['source-controller'].binary, [
        `--metrics-addr=127.0.0.1:${source.metrics}`, `--health-addr=127.0.0.1:${source.health}`,
        `--storage-path=${join(dir, 'storage')}`, `--storage-addr=127.0.0.1:${storagePort}`, `--storage-adv-addr=127.0.0.1:${storagePort}`,
        `--events-addr=http://127.0.0.1:${eventsPort}`, '--log-level=debug',
      ], controllerEnv);
      const kustomize = await ports();
      plane.start('kustomize-controller', built['kustomize-controller'].binary, [
        `--metrics-addr=127.0.0.1:${kustomize.metrics}`, `--health-addr=127.0.0.1:${kustomize.health}`,
        `--events-addr=http://127.0.0.1:${eventsPort}`, '--log-level=debug',
      ], controllerEnv);
      const notification = await ports();
      // A generic-oidc Receiver fetches its issuer's discovery document and keys with Go's default
      // roots: SSL_CERT_FILE adds the suite's CA (the loopback issuer's certificate is the CA's, as
      // the Git server's is); Go still reads the system's certificate folders besides.
      plane.start('notification-controller', built['notification-controller'].binary, [
        `--metrics-addr=127.0.0.1:${notification.metrics}`, `--health-addr=127.0.0.1:${notification.health}`,
        `--receiverAddr=127.0.0.1:${receiverPort}`, `--events-addr=127.0.0.1:${eventsPort}`, '--log-level=debug',
      ], { ...controllerEnv, SSL_CERT_FILE: caFile });
      for (const [name, health] of [['source-controller', source.health], ['kustomize-controller', kustomize.health], ['notification-controller', notification.health]] as const) {
        await plane.waitFor(name, 'ready', async () => {
          try {
            return (await fetch(`http://127.0.0.1:${health}/readyz`)).ok;
          } catch {
            return false;
          }
        });
      }
      writeFileSync(join(dir, 'control-plane.json'), JSON.stringify(plane.info, null, 2));
      return plane;
    } catch (error) {
      await plane.stop();
      throw error;
    }
  }

  /** Ends every process (controllers first, etcd last): SIGTERM, then SIGKILL after 10 s. */
  public async stop(): Promise<void> {
    this.stopped = true;
    for (const { child } of [...this.running].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        continue;
      }
      const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone between the two.
        }
        await exited;
      }
    }
  }
}
