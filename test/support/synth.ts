import { Testing } from 'cdk8s';
import { Construct } from 'constructs';

/** Synthesizes `chart` and returns the one object of `kind` named `name`. */
export function objectOf(chart: Construct, kind: string, name?: string): any {
  const objects = Testing.synth(chart as any).filter((object: any) => object.kind === kind && (name === undefined || object.metadata?.name === name));
  if (objects.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${objects.length}`);
  return objects[0];
}

export const TOKEN = '0123456789abcdef'.repeat(4);

/** How package.json's scripts run TypeScript, for tests that start them as a user would. */
export const NODE_TS = ['--conditions=import', '-r', require.resolve('@swc-node/register')];
/** The project's tsconfig, for a command started in another folder. */
export const NODE_TS_ENV = { SWC_NODE_PROJECT: require('node:path').join(__dirname, '..', '..', 'tsconfig.json') };
