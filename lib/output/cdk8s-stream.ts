// What `cdk8s synth` gets from this app in its output folder. The CLI prints every .yaml file of that
// folder to stdout (`--stdout`) by piping them all at once, with nothing between them: two files
// would run together (no `---`, "Map keys must be unique"), chunks of files over 64 KiB would
// interleave, and eleven pipes on stdout trip Node's MaxListenersExceededWarning. So the app hands
// it one file: the Kubernetes objects of every cluster, each file's documents after a `---`.
import { OutputFile } from './dist-writer';
import { CLUSTER_FILES, GENERATED_HEADER } from '../layout';

/** The one file main.ts writes into the folder `cdk8s synth` names (CDK8S_OUTDIR). */
export const CDK8S_STREAM_FILE = 'fleet.k8s.yaml';

/**
 * Whether a file of dist/ (relative to it) holds objects for `kubectl apply`: a cluster's own
 * manifests, not its flux-system folder (kustomize's input, built over bootstrap's files) nor the
 * Secret only Flux can decrypt.
 */
function holdsObjects(path: string): boolean {
  const inCluster = /^clusters\/[^/]+\/([^/]+\.yaml)$/.exec(path)?.[1];
  return inCluster !== undefined && inCluster !== CLUSTER_FILES.encryptedTokenSecret;
}

/**
 * The multi-document YAML of every object in `files` (dist/'s generated files, relative to
 * `distDir`), in their order: each file's documents start with `---` and a comment naming the file.
 */
export function cdk8sStream(files: readonly OutputFile[], distDir: string): string {
  const parts = [`${GENERATED_HEADER}\n# The objects of every cluster in ${distDir}/clusters/, for kubectl. Flux reads ${distDir}/ itself, with its\n# flux-system folders (built over bootstrap's files) and the SOPS-encrypted Secrets, which are not here.\n`];
  for (const file of files) {
    if (!holdsObjects(file.path)) continue;
    const body = file.content.startsWith(`${GENERATED_HEADER}\n`) ? file.content.slice(GENERATED_HEADER.length + 1) : file.content;
    if (body.trim() === '') continue;
    parts.push(`---\n# ${distDir}/${file.path}\n${body.endsWith('\n') ? body : `${body}\n`}`);
  }
  return parts.join('');
}
