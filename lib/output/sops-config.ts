// `.sops.yaml`: the rules the sops CLI uses when someone encrypts by hand, generated to match what
// synth encrypts. Flux never reads it. This file does I/O: main.ts uses it; constructs never do.
import { rmSync } from 'node:fs';
import { readRegularFile } from '../io/safe-read';
import { dirname, relative, resolve, sep } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomically } from '../io/atomic-file';
import { isGenerated } from './dist-writer';

import { KUBERNETES_ENCRYPTED_REGEX } from '../secrets/sops';
import { Fleet } from '../fleet/model';
import { GENERATED_HEADER } from '../layout';

export interface SopsConfigPlan {
  readonly file: string;
  /** The new content, or undefined to remove a generated file no cluster needs any more. */
  readonly content: string | undefined;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Paths as sops matches them: relative to the config file's folder, with '/'. */
function relativeTo(configFile: string, target: string): string {
  return relative(dirname(resolve(configFile)), resolve(target)).split(sep).join('/');
}

/**
 * What `.sops.yaml` must hold for `fleet`: one creation rule per cluster with age recipients,
 * covering its dist/ tree and its local secrets folder. Throws, writing nothing, when a
 * `.sops.yaml` that synth did not write is in the way.
 */
export function planSopsConfig(file: string, distDir: string, secretsDir: string, fleet: Fleet): SopsConfigPlan {
  const rules = fleet.clusters.filter((cluster) => cluster.sops).map((cluster) => ({
    path_regex: `^(${escapeRegex(relativeTo(file, `${distDir}/clusters/${cluster.name}`))}|${escapeRegex(relativeTo(file, `${secretsDir}/${cluster.name}`))})/.*\\.ya?ml$`,
    encrypted_regex: KUBERNETES_ENCRYPTED_REGEX,
    age: cluster.sops!.ageRecipients.join(','),
  }));
  const existing = readRegularFile(file);
  if (existing !== undefined && !isGenerated(existing)) {
    if (rules.length === 0) return { file, content: existing };
    throw new Error(`${file} was not written by flux-infra, but synth generates it for the clusters with age recipients: merge your rules into the fleet file and move it away`);
  }
  if (rules.length === 0) return { file, content: undefined };
  const content = [
    GENERATED_HEADER,
    '# The sops CLI rules for this repository, the same synth encrypts with (sops encrypt --in-place <file>).',
    stringify({ creation_rules: rules }, { lineWidth: 0 }),
  ].join('\n');
  return { file, content };
}

/** Writes (atomically) or removes `.sops.yaml` as planned; leaves it alone when nothing changes. */
export function writeSopsConfig(plan: SopsConfigPlan): void {
  const existing = readRegularFile(plan.file);
  if (existing === plan.content) return;
  if (plan.content === undefined) {
    rmSync(plan.file, { force: true });
    return;
  }
  writeFileAtomically(plan.file, plan.content);
}
