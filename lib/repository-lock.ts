// One lock per repository: synth, rotate-token and age-key each hold it while they write, so two
// of them never interleave their writes of dist/, secrets/ or the fleet file. This file does I/O.
//
// Written here rather than taken from proper-lockfile: that library judges a lock stale by its
// age (seconds after a crash), while a pid check takes over a killed synth's lock at once and lets
// the message name the process that holds it.
import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** Another process holds the lock for longer than we wait. */
export class LockBusyError extends Error {}

/** How long a taker may hold the side lock that serializes taking over a dead process's lock. */
const BREAKER_STALE_MS = 2_000;
const POLL_MS = 50;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `file` holding our pid, atomically: link() fails if it exists, and readers never see it empty. */
function tryCreate(file: string): boolean {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Removes the lock of `deadPid`, if it still holds it. A side lock makes this one process at a
 * time, so that two takers cannot both remove a lock and one of them remove a live one.
 */
function takeOver(file: string, deadPid: number): void {
  const breaker = `${file}.takeover`;
  if (!tryCreate(breaker)) {
    try {
      if (Date.now() - statSync(breaker).mtimeMs > BREAKER_STALE_MS) unlinkSync(breaker);
    } catch {
      // Gone already: its holder finished.
    }
    return;
  }
  try {
    if (ownerOf(file) === deadPid) rmSync(file, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

export interface LockOptions {
  /** How long to wait for another holder before failing. @default 10000 */
  readonly waitMs?: number;
}

/** A held lock; release it exactly once. */
export interface HeldLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the lock `file`, waiting up to `waitMs` while a live process holds it; a lock whose
 * process is dead (a killed synth) is taken over. Throws LockBusyError naming the holder's pid.
 */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<HeldLock> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    if (tryCreate(file)) {
      return {
        file,
        release: () => {
          if (ownerOf(file) === process.pid) rmSync(file, { force: true });
        },
      };
    }
    const owner = ownerOf(file);
    if (owner !== undefined && !isAlive(owner)) {
      takeOver(file, owner);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockBusyError(`another synth is running (pid ${owner ?? 'unknown'}): wait until it ends and run again (if no flux-infra command runs, remove ${file})`);
    }
    await sleep(POLL_MS);
  }
}

/** Runs `action` while holding the lock `file`, and releases it however `action` ends. */
export async function withLock<T>(file: string, action: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(file, options);
  try {
    return await action();
  } finally {
    lock.release();
  }
}
