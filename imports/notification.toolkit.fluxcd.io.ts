// notification.toolkit.fluxcd.io/v1: Flux Receiver.
// Spec types come from @kubernetes-models/flux-cd. Compared with the current CRD (Flux 2.9), the
// package lacks `spec.oidcProviders`, the `generic-oidc` type and `resources[].filter` (the
// per-resource CEL filter, notification-controller 1.9+), and still requires `secretRef`, which the
// CRD forbids for generic-oidc. Those are added here, and the package's schema check is taught the
// CRD's own rules for them (LaggingReceiverModel below); its validator allows unknown fields, which
// the closed shape below then governs.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { Receiver as ReceiverModel } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/Receiver';
import type { IReceiverSpec } from '@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1/ReceiverSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

type ReceiverResource = NonNullable<IReceiverSpec['resources']>[number];

/** The CRD's OIDCProvider: the issuer a caller's token must come from, its audience and the CEL validations over its claims. */
export interface ReceiverOidcProvider {
  issuerURL: string;
  /** @default 'notification-controller' */
  audience?: string;
  validations: { expression: string; message: string }[];
  variables?: { name: string; expression: string }[];
}

export type ReceiverSpec = Omit<IReceiverSpec, 'resources' | 'type' | 'secretRef'> & {
  type: IReceiverSpec['type'] | 'generic-oidc';
  /** Required for every type but generic-oidc, which must not have it. */
  secretRef?: IReceiverSpec['secretRef'];
  /** For generic-oidc only, at least one. */
  oidcProviders?: ReceiverOidcProvider[];
  /** The sources to reconcile, each with an optional CEL `filter` over the delivery (`req`, and `claims` for generic-oidc). */
  resources: (ReceiverResource & { filter?: string })[];
};
export type ReceiverProps = FluxApiObjectProps<ReceiverSpec>;

export const RECEIVER_SPEC_SHAPE: ObjectShape<ReceiverSpec> = {
  events: OPEN,
  interval: OPEN,
  resourceFilter: OPEN,
  resources: { apiVersion: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, matchLabels: OPEN, filter: OPEN },
  secretRef: { name: OPEN },
  suspend: OPEN,
  type: OPEN,
  oidcProviders: { issuerURL: OPEN, audience: OPEN, validations: { expression: OPEN, message: OPEN }, variables: { name: OPEN, expression: OPEN } },
};

const GENERIC_OIDC = 'generic-oidc';

/**
 * The package's check, with the CRD's rules where it lags: generic-oidc is a type, takes no
 * secretRef and needs oidcProviders (the CRD's x-kubernetes-validations, and its OIDCProvider
 * schema: issuerURL ^https?://, at least one validation, each with expression and message).
 */
class LaggingReceiverModel {
  private readonly data: any;

  public constructor(data: any) {
    this.data = data;
  }

  public validate(): void {
    const spec = this.data?.spec ?? {};
    const oidc = spec.type === GENERIC_OIDC;
    let errors: any[] = [];
    try {
      // The package knows neither the type nor that secretRef is optional for it: check the rest with a type it knows.
      new ReceiverModel(oidc ? { ...this.data, spec: { ...spec, type: 'generic', secretRef: { name: 'unused' } } } : this.data).validate();
    } catch (error: any) {
      errors = error?.errors ?? [{ instancePath: '', message: String(error?.message ?? error) }];
    }
    const fail = (path: string, message: string) => errors.push({ instancePath: `/spec${path}`, message });
    const providers: unknown = spec.oidcProviders;
    if (oidc && (!Array.isArray(providers) || providers.length === 0)) fail('', 'generic-oidc receivers must define at least one oidcProvider');
    if (!oidc && Array.isArray(providers) && providers.length > 0) fail('/oidcProviders', 'oidcProviders can only be set when type is generic-oidc');
    if (oidc && spec.secretRef !== undefined) fail('/secretRef', 'secretRef cannot be set when type is generic-oidc');
    if (Array.isArray(providers)) {
      providers.forEach((provider: any, index) => {
        const at = `/oidcProviders/${index}`;
        if (typeof provider?.issuerURL !== 'string' || !/^https?:\/\//.test(provider.issuerURL)) fail(`${at}/issuerURL`, 'must be a string matching ^https?://');
        if (provider?.audience !== undefined && typeof provider.audience !== 'string') fail(`${at}/audience`, 'must be string');
        const validations: unknown = provider?.validations;
        if (!Array.isArray(validations) || validations.length === 0) fail(`${at}/validations`, 'must have at least one validation');
        else validations.forEach((validation: any, position) => {
          for (const field of ['expression', 'message']) {
            if (typeof validation?.[field] !== 'string') fail(`${at}/validations/${position}/${field}`, 'must be string');
          }
        });
      });
      const issuers = providers.map((provider: any) => provider?.issuerURL);
      issuers.forEach((issuer, index) => {
        if (issuers.indexOf(issuer) !== index) fail(`/oidcProviders/${index}/issuerURL`, `duplicate issuerURL ${String(issuer)} (a list-map keyed by it)`);
      });
    }
    if (errors.length > 0) throw Object.assign(new Error('Receiver does not match the CRD'), { errors });
  }
}

/** Receiver: an HTTP endpoint in notification-controller that turns webhook calls into reconciles. */
export class Receiver extends FluxApiObject<ReceiverSpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'notification.toolkit.fluxcd.io/v1', kind: 'Receiver' };

  public constructor(scope: Construct, id: string, props: ReceiverProps) {
    super(scope, id, Receiver.GVK, props, LaggingReceiverModel, RECEIVER_SPEC_SHAPE);
  }
}
