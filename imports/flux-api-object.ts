import { ApiObject, ApiObjectMetadata, GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { Shape, unknownFields } from './closed-shape';

/** A schema-checked model class from `@kubernetes-models/*`: `validate()` throws on a bad object. */
export interface ModelClass {
  new (data: any): { validate(): void };
}

/** What every Flux L1 object takes, the same shape `cdk8s import` gives CRD bindings. */
export interface FluxApiObjectProps<Spec> {
  readonly metadata?: ApiObjectMetadata;
  readonly spec: Spec;
}

/**
 * Checks a rendered manifest against the maintained JSON schema and the closed shape of its spec.
 * Returns one message per problem, each naming the field.
 */
export function schemaErrors(manifest: any, model: ModelClass, specShape: Shape): string[] {
  const errors = unknownFields(manifest.spec, specShape, 'spec').map(
    (field) => `${field} is not a field of ${manifest.apiVersion} ${manifest.kind} (the API server would drop it)`,
  );
  try {
    new model(manifest).validate();
  } catch (error: any) {
    const details: any[] = error?.errors ?? [];
    if (details.length === 0) {
      errors.push(String(error?.message ?? error));
    }
    for (const detail of details) {
      const field = String(detail.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || '(object)';
      errors.push(`${field} ${detail.message}${detail.params?.allowedValues ? ` (one of: ${detail.params.allowedValues.join(', ')})` : ''}`);
    }
  }
  return errors;
}

/** While `duringRender` runs: each Flux object's manifest as its validation resolved it. */
let renderPass: WeakMap<ApiObject, unknown> | undefined;

/**
 * Runs `render` with a record of the manifests the Flux objects' validations resolve, so that
 * rendering right after them need not resolve each object again (a tenth of a large synth).
 */
export function duringRender<T>(render: (validated: WeakMap<ApiObject, unknown>) => T): T {
  const outer = renderPass;
  renderPass = new WeakMap();
  try {
    return render(renderPass);
  } finally {
    renderPass = outer;
  }
}

/**
 * Base of the Flux L1 bindings: an ApiObject whose synthesized form is validated against the
 * Flux API schema, unknown fields included, before anything is written.
 */
export abstract class FluxApiObject<Spec> extends ApiObject {
  protected constructor(scope: Construct, id: string, gvk: GroupVersionKind, props: FluxApiObjectProps<Spec>, model: ModelClass, specShape: Shape) {
    super(scope, id, { ...gvk, ...props });
    this.node.addValidation({
      validate: () => {
        const manifest = this.toJson();
        renderPass?.set(this, manifest);
        return schemaErrors(manifest, model, specShape).map((error) => `${this.kind} ${this.name}: ${error}`);
      },
    });
  }
}
