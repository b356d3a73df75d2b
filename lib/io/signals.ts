// Ctrl-C (SIGINT) and SIGTERM during a write that must not be cut short. This file does I/O.

const DEFERRED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Resolves after the event loop has gone round once more: a signal that came before has been dispatched by then. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `write` (synchronous) with SIGINT and SIGTERM held back, so that it finishes, or fails and
 * rolls back, instead of leaving a half-done write; then, if either came meanwhile, ends the
 * process by that signal as it would have ended (exit status 130 or 143 in a shell). Outside this
 * window the signals do what they always do.
 */
export async function withSignalsDeferred<T>(write: () => T): Promise<T> {
  const received: NodeJS.Signals[] = [];
  const hold = (signal: NodeJS.Signals): void => {
    received.push(signal);
  };
  for (const signal of DEFERRED) process.on(signal, hold);
  try {
    return write();
  } finally {
    // Node runs signal listeners from the event loop, not inside synchronous code: a signal sent
    // during `write` is dispatched in the loop's next poll, which the second turn waits past.
    await nextTurn();
    await nextTurn();
    for (const signal of DEFERRED) process.off(signal, hold);
    // With no listener left the signal's default action is back: it ends the process here.
    if (received.length > 0) process.kill(process.pid, received[0]);
  }
}
