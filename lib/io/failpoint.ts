// Named points where the crash tests kill the process for real (SIGKILL, no clean-up), to prove
// that whatever a kill leaves behind is recovered. Inert unless FLUX_INFRA_FAILPOINT names the point.

/** Kills this process at once, as a power cut or `kill -9` would, when FLUX_INFRA_FAILPOINT is `name`. */
export function failpoint(name: string): void {
  if (process.env.FLUX_INFRA_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}
