// A loopback HTTPS Git server with a private CA, one repository on it, and the environment a user
// of that CA gives git (GIT_SSL_CAINFO, no user configuration): for the commands that run git.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCa } from './certificates';
import { GitServer, startGitServer } from '../e2e/git-server';
import { Repository } from '../e2e/support';

export interface TrustedGit {
  readonly server: GitServer;
  /** The folder of bare repositories the server serves. */
  readonly root: string;
  /** HOME for git: holds ca.pem. */
  readonly home: string;
  readonly repository: Repository;
  /** `env` plus what makes git trust the CA and read no configuration of this machine. */
  readonly gitEnv: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startTrustedGit(ca: TestCa, repositoryPath: string, env: NodeJS.ProcessEnv): Promise<TrustedGit> {
  const root = mkdtempSync(join(tmpdir(), 'git-root-'));
  const home = mkdtempSync(join(tmpdir(), 'git-home-'));
  writeFileSync(join(home, 'ca.pem'), ca.cert);
  const server = await startGitServer(root, await ca.issue(['127.0.0.1']));
  const repository = new Repository({ ...server, root, ca: ca.cert }, repositoryPath);
  return {
    server,
    root,
    home,
    repository,
    gitEnv: { ...env, PATH: process.env.PATH, HOME: home, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_SSL_CAINFO: join(home, 'ca.pem') },
    close: async () => {
      await server.close();
      repository.remove();
      rmSync(root, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}
