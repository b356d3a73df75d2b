import { Testing } from 'cdk8s';
import { Construct } from 'constructs';

/** Synthesizes `chart` and returns the one object of `kind` named `name`. */
export function objectOf(chart: Construct, kind: string, name?: string): any {
  const objects = Testing.synth(chart as any).filter((object: any) => object.kind === kind && (name === undefined || object.metadata?.name === name));
  if (objects.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${objects.length}`);
  return objects[0];
}

export const TOKEN = '0123456789abcdef'.repeat(4);

/** How package.json's scripts start a command (`node ... tools/launch.cjs <entry>`), for tests that start them as a user would. */
export const LAUNCH = ['--conditions=import', require('node:path').join(__dirname, '..', '..', 'tools', 'launch.cjs')];
