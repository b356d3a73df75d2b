import { ApiObject, Chart, DependencyGraph, Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import { ManifestFile } from '../constructs/manifest-file';
import { duringRender } from '../../imports/flux-api-object';
import { GENERATED_HEADER } from '../layout';

export interface RenderedFile {
  /** Relative to the scope's directory. */
  readonly path: string;
  readonly content: string;
  /** Plaintext secrets inside: never to be written to `dist/`. */
  readonly sensitive: boolean;
}

/**
 * Runs every validation below `scope` once and throws them all together, each with its
 * construct path, as cdk8s does before it writes anything.
 */
export function validateTree(scope: Construct): void {
  const errors = scope.node.findAll().flatMap((construct) => construct.node.validate().map((error) => `[${construct.node.path}] ${error}`));
  if (errors.length > 0) {
    throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
  }
}

/** The objects of one chart in the order cdk8s writes them (its dependency order), as `validated` holds them where it does. */
function objectsOf(chart: Chart, validated: WeakMap<ApiObject, unknown>): any[] {
  const constructs = chart.node.findAll();
  // With no dependency between them, cdk8s's dependency order is the tree's order: the graph (a
  // tenth of a 1000-cluster synth) is built only when some construct has one.
  const ordered = constructs.some((construct) => construct.node.dependencies.length > 0) ? new DependencyGraph(chart.node).topology() : constructs;
  return ordered
    .filter((construct): construct is ApiObject => construct instanceof ApiObject && Chart.of(construct) === chart)
    .map((object) => (validated.has(object) ? validated.get(object) : object.toJson()));
}

/**
 * Renders every ManifestFile below `scope` to YAML text, sorted by path. The tree is validated
 * once (Chart.toJson() would validate the whole app again for every chart, which makes the cost
 * of a cluster grow with its number of files). No I/O: writing is the caller's job.
 */
export function renderManifestFiles(scope: Construct): RenderedFile[] {
  const files = duringRender((validated) => {
    validateTree(scope);
    return ManifestFile.all(scope).map((file) => ({
      path: file.path,
      content: `${GENERATED_HEADER}\n${Yaml.stringify(...objectsOf(file, validated))}`,
      sensitive: file.sensitive,
    }));
  });
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two manifest files are both written to ${file.path}`);
    seen.add(file.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
