// `verify --heads git`: a source's head read with the real `git ls-remote`, for any Git server (a
// self-hosted one, one without GitHub's API). git runs with the user's own configuration and
// credential helpers, never a token of ours, and within the command's bounds: its deadline, a
// limit on what is read, no prompt for a password.
import { spawn } from 'node:child_process';
import { CommandError } from '../common';
import { redact } from '../redact';
import { isTokenVariable } from './host-tokens';
import { RequestBounds } from './bounded-fetch';

/** A listing of one ref (and its peeled tag) is two lines, of every branch and tag some thousand: far under this. */
export const MAX_LS_REMOTE_BYTES = 1024 * 1024;
/** What is kept of git's stderr, for its first error line. */
const MAX_STDERR_BYTES = 64 * 1024;

/** The user's environment for git, without the variables flux-infra reads tokens and keys from, and never prompting. */
export function gitEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (!isTokenVariable(name) && !/^(FLUX_INFRA_|SOPS_AGE_)/.test(name)) result[name] = value;
  }
  return { ...result, GIT_TERMINAL_PROMPT: '0' };
}

/** git's first `fatal:`/`error:` line (else its first line), masked, for a one-line finding. */
function firstErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  return redact(lines.find((line) => /^(fatal|error):/.test(line)) ?? lines[0] ?? 'no message');
}

type Outcome = { stdout: string } | { failed: string };

/** Runs `git ls-remote url refs...` within `bounds`: its listing, or a one-line reason it has none. */
function lsRemote(url: string, refs: string[], env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<Outcome> {
  const deadline = () => new CommandError(`git ls-remote ${redact(url)} had no complete answer within the command's time (${bounds.limit}): the server does not answer or is slow; raise --timeout if it is only slow`);
  if (bounds.signal.aborted) return Promise.reject(deadline());
  return new Promise((resolve, reject) => {
    // Its own process group (and no controlling terminal): the deadline ends git with its helpers
    // (git-remote-https, ssh), and ssh cannot ask on the terminal either.
    const child = spawn('git', ['ls-remote', '--end-of-options', url, ...refs], { env: gitEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outSize = 0;
    let errSize = 0;
    let stopped: 'deadline' | 'size' | undefined;
    const stop = (why: 'deadline' | 'size') => {
      stopped ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => stop('deadline');
    bounds.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outSize += chunk.byteLength;
      if (outSize > MAX_LS_REMOTE_BYTES) stop('size');
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errSize < MAX_STDERR_BYTES) stderr.push(chunk);
      errSize += chunk.byteLength;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      bounds.signal.removeEventListener('abort', onAbort);
      reject(new CommandError(error.code === 'ENOENT' ? 'git is not on PATH: verify --heads git and doctor --online (where no host token is set) read refs with git ls-remote; install git, or use verify --heads api or a host token' : `cannot run git ls-remote: ${error.message}`));
    });
    child.on('close', (code) => {
      bounds.signal.removeEventListener('abort', onAbort);
      if (stopped === 'deadline') reject(deadline());
      else if (stopped === 'size') resolve({ failed: `git ls-remote ${redact(url)} listed over ${MAX_LS_REMOTE_BYTES / 1024 / 1024} MiB: not read further (is this a Git server?)` });
      else if (code !== 0) resolve({ failed: `git ls-remote ${redact(url)} failed: ${firstErrorLine(Buffer.concat(stderr).toString('utf8'))}` });
      else resolve({ stdout: Buffer.concat(stdout).toString('utf8') });
    });
  });
}

/**
 * The commit `url`'s branch or tag points at (an annotated tag peeled to its commit, which Flux
 * reports), or a one-line failure: git's error, or the ref not being there.
 */
export async function gitHead(url: string, ref: { kind: 'branch' | 'tag'; name: string }, env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<{ sha: string } | { skipped: string; failed: true }> {
  const full = `refs/${ref.kind === 'branch' ? 'heads' : 'tags'}/${ref.name}`;
  const refs = ref.kind === 'branch' ? [full] : [full, `${full}^{}`];
  const outcome = await lsRemote(url, refs, env, bounds);
  if ('failed' in outcome) return { skipped: outcome.failed, failed: true };
  // A pattern matches a ref's tail (refs/remotes/x/refs/heads/main too): only the exact names count.
  const listed = new Map<string, string>();
  for (const line of outcome.stdout.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (name !== undefined && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) listed.set(name, sha);
  }
  const sha = listed.get(`${full}^{}`) ?? listed.get(full);
  return sha === undefined ? { skipped: `${ref.kind} ${ref.name} is not on ${redact(url)}`, failed: true } : { sha };
}

/** Every branch and tag of `url` (tags by name, peeled or not), or a one-line failure: git's error. `doctor --online` reads them. */
export async function gitRefs(url: string, env: NodeJS.ProcessEnv, bounds: RequestBounds): Promise<{ branches: string[]; tags: string[] } | { failed: string }> {
  const outcome = await lsRemote(url, ['refs/heads/*', 'refs/tags/*'], env, bounds);
  if ('failed' in outcome) return outcome;
  const branches = new Set<string>();
  const tags = new Set<string>();
  for (const line of outcome.stdout.split('\n')) {
    const name = line.trim().split('\t')[1];
    // A pattern matches a ref's tail (refs/remotes/x/refs/heads/main too): only refs/heads/ and refs/tags/ count.
    if (name?.startsWith('refs/heads/')) branches.add(name.slice('refs/heads/'.length));
    else if (name?.startsWith('refs/tags/')) tags.add(name.slice('refs/tags/'.length).replace(/\^\{\}$/, ''));
  }
  return { branches: [...branches], tags: [...tags] };
}
