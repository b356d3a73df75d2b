// Named points where the crash tests kill the process for real (SIGKILL, no clean-up), to prove
// that whatever a kill leaves behind is recovered, or send it SIGINT or SIGTERM (Ctrl-C, a service
// manager stopping it) there. Inert unless FLUX_INFRA_FAILPOINT names the point.

/**
 * Kills this process at once, as a power cut or `kill -9` would, when FLUX_INFRA_FAILPOINT is
 * `name`; sends it SIGINT or SIGTERM instead when it is `name:SIGINT` or `name:SIGTERM`.
 */
export function failpoint(name: string): void {
  const [point, signal = 'SIGKILL'] = (process.env.FLUX_INFRA_FAILPOINT ?? '').split(':');
  if (point === name && (signal === 'SIGKILL' || signal === 'SIGINT' || signal === 'SIGTERM')) process.kill(process.pid, signal);
}
