// Tests that check our output with a tool a user has besides Node (the age CLI, kubectl's
// kustomize). They run wherever the tool is; CI sets FLUX_INFRA_REQUIRE_TOOLS=1, and there a missing
// tool fails the test instead of skipping it, so the cross-checks can never be skipped quietly.
// A skipped test's name ends with `(needs <what>)`: test/support/skipped-reporter.js lists them,
// grouped by that, at the end of `npm test`.
import { spawnSync } from 'node:child_process';

export type ExternalTool = 'age' | 'kubectl' | 'curl' | 'jq';

/** What each tool's skipped tests need, as the skip list at the end of `npm test` names it. */
export const TOOL_NEEDS: Record<ExternalTool, string> = {
  age: 'the age CLI (apt-get install age)',
  kubectl: 'kubectl, for its built-in kustomize',
  curl: 'curl, which the generated CI jobs call the Receiver with',
  jq: 'jq, which the generated GitHub workflow reads its ID token with',
};

const present = new Map<ExternalTool, boolean>();

/** Whether `tool` runs here. */
export function hasTool(tool: ExternalTool): boolean {
  if (!present.has(tool)) present.set(tool, spawnSync(tool, ['--version'], { stdio: 'ignore' }).error === undefined);
  return present.get(tool)!;
}

/** `test` where `available`; otherwise skipped under a name that says what it needs. */
export function testNeeding(available: boolean, needs: string, name: string, body: () => unknown, timeout?: number): void {
  if (available) test(name, body as jest.ProvidesCallback, timeout);
  else test.skip(`${name} (needs ${needs})`, () => undefined);
}

/** `test`, when `tool` is here; otherwise skipped, or failing where FLUX_INFRA_REQUIRE_TOOLS=1 (CI). */
export function testWith(tool: ExternalTool, name: string, body: () => unknown, timeout?: number): void {
  if (!hasTool(tool) && process.env.FLUX_INFRA_REQUIRE_TOOLS === '1') {
    test(name, () => {
      throw new Error(`${tool} is not on PATH, and FLUX_INFRA_REQUIRE_TOOLS=1 says this check must run here`);
    });
  } else {
    testNeeding(hasTool(tool), TOOL_NEEDS[tool], name, body, timeout);
  }
}
