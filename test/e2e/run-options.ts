// `npm run test:e2e` arguments: `--keep` is ours (leave the control plane up), every other one goes
// to jest as given (a scenario file's name, `-t <test name>`).
export interface RunOptions {
  readonly keep: boolean;
  readonly jestArgs: readonly string[];
}

export function runOptions(args: readonly string[]): RunOptions {
  return { keep: args.includes('--keep'), jestArgs: args.filter((arg) => arg !== '--keep') };
}
