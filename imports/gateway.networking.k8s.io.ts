// gateway.networking.k8s.io/v1: Gateway API HTTPRoute.
// Spec types and the schema check come from @kubernetes-models/gateway-api; the shape below closes
// them (the package's validator accepts unknown fields). The package also models experimental-channel
// fields (useDefaultGateways, rules[].retry and sessionPersistence, the externalAuth filter), which a
// standard-channel API server drops: the shape leaves them out, to match the v1.6 standard CRD the
// tests check against.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { HTTPRoute as HTTPRouteModel } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IHTTPRouteSpec } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

type Rule = NonNullable<IHTTPRouteSpec['rules']>[number];
type Filter = Omit<NonNullable<Rule['filters']>[number], 'externalAuth'>;
type BackendRef = Omit<NonNullable<Rule['backendRefs']>[number], 'filters'> & { filters?: Filter[] };
/** The spec as the standard channel serves it (see above). */
export type HTTPRouteSpec = Omit<IHTTPRouteSpec, 'useDefaultGateways' | 'rules'> & {
  rules?: (Omit<Rule, 'retry' | 'sessionPersistence' | 'filters' | 'backendRefs'> & { filters?: Filter[]; backendRefs?: BackendRef[] })[];
};
export type HTTPRouteProps = FluxApiObjectProps<HTTPRouteSpec>;

const BACKEND_OBJECT_SHAPE = { group: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, port: OPEN } as const;
const HEADER_FILTER_SHAPE = { add: { name: OPEN, value: OPEN }, remove: OPEN, set: { name: OPEN, value: OPEN } } as const;
const PATH_MODIFIER_SHAPE = { type: OPEN, replaceFullPath: OPEN, replacePrefixMatch: OPEN } as const;

const FILTER_SHAPE: ObjectShape<Filter> = {
  type: OPEN,
  cors: { allowCredentials: OPEN, allowHeaders: OPEN, allowMethods: OPEN, allowOrigins: OPEN, exposeHeaders: OPEN, maxAge: OPEN },
  extensionRef: { group: OPEN, kind: OPEN, name: OPEN },
  requestHeaderModifier: HEADER_FILTER_SHAPE,
  responseHeaderModifier: HEADER_FILTER_SHAPE,
  requestMirror: { backendRef: BACKEND_OBJECT_SHAPE, fraction: { numerator: OPEN, denominator: OPEN }, percent: OPEN },
  requestRedirect: { hostname: OPEN, path: PATH_MODIFIER_SHAPE, port: OPEN, scheme: OPEN, statusCode: OPEN },
  urlRewrite: { hostname: OPEN, path: PATH_MODIFIER_SHAPE },
};

export const HTTP_ROUTE_SPEC_SHAPE: ObjectShape<HTTPRouteSpec> = {
  parentRefs: { group: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, port: OPEN, sectionName: OPEN },
  hostnames: OPEN,
  rules: {
    name: OPEN,
    matches: {
      path: { type: OPEN, value: OPEN },
      headers: { name: OPEN, type: OPEN, value: OPEN },
      queryParams: { name: OPEN, type: OPEN, value: OPEN },
      method: OPEN,
    },
    filters: FILTER_SHAPE,
    backendRefs: { ...BACKEND_OBJECT_SHAPE, weight: OPEN, filters: FILTER_SHAPE },
    timeouts: { request: OPEN, backendRequest: OPEN },
  },
};

/** HTTPRoute: routes HTTP requests from a Gateway's listeners to Services. */
export class HTTPRoute extends FluxApiObject<HTTPRouteSpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' };

  public constructor(scope: Construct, id: string, props: HTTPRouteProps) {
    super(scope, id, HTTPRoute.GVK, props, HTTPRouteModel, HTTP_ROUTE_SPEC_SHAPE);
  }
}
