// A kubeconfig for a loopback stand-in of the Kubernetes API, as a real cluster's names it: its
// server, the CA that signed its certificate, one user, one current context named test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The kubeconfig's user: a token (JSON-quoted, so that it may hold a line break), or a user name and password. */
export type KubeUser = { readonly token: string } | { readonly username: string; readonly password: string };

/** The text of a kubeconfig for `server`, trusting the PEM `caCert`, as user test with `user`'s credential. */
export function kubeconfigText(server: string, caCert: string, user: KubeUser = { token: 'kube-token' }): string {
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    `clusters: [{name: test, cluster: {server: "${server}", certificate-authority-data: "${Buffer.from(caCert).toString('base64')}"}}]`,
    `users: [{name: test, user: ${JSON.stringify(user)}}]`,
    'contexts: [{name: test, context: {cluster: test, user: test}}]', '',
  ].join('\n');
}

/** `kubeconfigText` written to a new temporary folder; `remove` deletes the folder. */
export function temporaryKubeconfig(server: string, caCert: string, user?: KubeUser): { file: string; remove(): void } {
  const folder = mkdtempSync(join(tmpdir(), 'kube-'));
  const file = join(folder, 'config');
  writeFileSync(file, kubeconfigText(server, caCert, user));
  return { file, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
