// Tests that check our output with a tool a user has besides Node (the age CLI, kubectl's
// kustomize). They run wherever the tool is; CI sets FLUX_INFRA_REQUIRE_TOOLS=1, and there a missing
// tool fails the test instead of skipping it, so the cross-checks can never be skipped quietly.
import { spawnSync } from 'node:child_process';

export type ExternalTool = 'age' | 'kubectl';

const present = new Map<ExternalTool, boolean>();

/** Whether `tool` runs here. */
export function hasTool(tool: ExternalTool): boolean {
  if (!present.has(tool)) present.set(tool, spawnSync(tool, ['--version'], { stdio: 'ignore' }).error === undefined);
  return present.get(tool)!;
}

/** `test`, when `tool` is here; otherwise skipped, or failing where FLUX_INFRA_REQUIRE_TOOLS=1 (CI). */
export function testWith(tool: ExternalTool, name: string, body: () => unknown, timeout?: number): void {
  if (hasTool(tool)) {
    test(name, body as jest.ProvidesCallback, timeout);
  } else if (process.env.FLUX_INFRA_REQUIRE_TOOLS === '1') {
    test(name, () => {
      throw new Error(`${tool} is not on PATH, and FLUX_INFRA_REQUIRE_TOOLS=1 says this check must run here`);
    });
  } else {
    test.skip(`${name} (needs ${tool})`, () => undefined);
  }
}
