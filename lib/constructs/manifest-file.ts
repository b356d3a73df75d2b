import { Chart } from 'cdk8s';
import { Construct } from 'constructs';

export interface ManifestFileProps {
  /** Where the file goes, relative to the cluster's directory, e.g. `flux-system/kustomization.yaml`. */
  readonly path: string;

  /**
   * The file holds plaintext secrets: it goes to the local, git-ignored secrets folder,
   * never to `dist/`.
   * @default false
   */
  readonly sensitive?: boolean;
}

/** A chart rendered as one YAML file of a cluster's tree. */
export class ManifestFile extends Chart {
  /** All manifest files below `scope`, in construct-tree order (stable across synths). */
  public static all(scope: Construct): ManifestFile[] {
    return scope.node.findAll().filter((c): c is ManifestFile => c instanceof ManifestFile);
  }

  public readonly path: string;
  public readonly sensitive: boolean;

  public constructor(scope: Construct, id: string, props: ManifestFileProps) {
    // Every object here is named explicitly; hashes would only hide a missing name.
    super(scope, id, { disableResourceNameHashes: true });
    if (!/^[a-z0-9][a-z0-9._/-]*\.yaml$/.test(props.path) || props.path.split('/').includes('..')) {
      throw new Error(`ManifestFile: path "${props.path}" must be a relative .yaml path of lower-case letters, digits, '-', '.', '_' and '/'`);
    }
    this.path = props.path;
    this.sensitive = props.sensitive ?? false;
  }
}
