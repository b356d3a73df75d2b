import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

/** The linter .ci/run runs on GitHub workflows (the @action-validator/cli dev dependency). */
const ACTION_VALIDATOR = join(__dirname, '..', '..', 'node_modules', '.bin', 'action-validator');

/**
 * Runs the real action-validator on the workflow `file` with this Node, SIGKILLed after 60 s at most.
 * Only PATH is passed on, so that nothing of this machine's environment (colour settings) shapes its output.
 */
export function actionValidator(file: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [ACTION_VALIDATOR, file], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
}
