// One lock per repository: synth, rotate-token and age-key each hold it while they write, so two
// of them never interleave their writes of dist/, secrets/ or the fleet file. This file does I/O.
//
// Written here rather than taken from proper-lockfile: that library judges a lock stale by its
// age (seconds after a crash), while a pid check takes over a killed synth's lock at once and lets
// the message name the process that holds it. Pids are those of this machine: a checkout shared
// with another machine or pid namespace is not guarded.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileExistsError, writeFileAtomically } from './atomic-file';
import { readRegularFile, UnsafeFileError } from './safe-read';

const POLL_MS = 50;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the lock `file`. A link, FIFO or device in its place is refused in one line: it would hang or mislead every taker. */
function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readRegularFile(file, { maxBytes: 64, what: `the lock ${file}` }) ?? '', 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if (error instanceof UnsafeFileError) throw error;
    return undefined;
  }
}

/** Creates `file` holding our pid, in one step (readers never see it empty); false if it exists. */
function tryCreate(file: string): boolean {
  try {
    writeFileAtomically(file, `${process.pid}\n`, { overwrite: false, mode: 0o644 });
    return true;
  } catch (error) {
    if (error instanceof FileExistsError) return false;
    throw new Error(`cannot create the lock ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check that ${dirname(file)} exists and is writable`);
  }
}

/** Removes `file` if the dead process `pid` still holds it. */
function removeIfHeldBy(file: string, pid: number): void {
  if (ownerOf(file) === pid) rmSync(file, { force: true });
}

/**
 * Removes the lock of `deadPid`, if it still holds it. A side lock, judged by its holder's pid too,
 * makes this one process at a time, so that two takers cannot both remove a lock and one of them
 * remove the live lock the other has just taken.
 */
function takeOver(file: string, deadPid: number): void {
  const breaker = `${file}.takeover`;
  if (!tryCreate(breaker)) {
    const holder = ownerOf(breaker);
    if (holder !== undefined && !isAlive(holder)) removeIfHeldBy(breaker, holder);
    return;
  }
  try {
    removeIfHeldBy(file, deadPid);
  } finally {
    removeIfHeldBy(breaker, process.pid);
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
 * process is dead (a killed synth) is taken over. Throws, naming the holder's pid, when it waited long enough.
 */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<HeldLock> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    // Checked again after creating: a taker that paused between its check and its removal may
    // have removed our lock; then we wait like anyone else.
    if (tryCreate(file) && ownerOf(file) === process.pid) {
      return { file, release: () => removeIfHeldBy(file, process.pid) };
    }
    const owner = ownerOf(file);
    if (owner !== undefined && !isAlive(owner)) {
      takeOver(file, owner);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`another synth is running (pid ${owner ?? 'unknown'}): wait until it ends and run again (if no flux-infra command runs, remove ${file})`);
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
