// gateway.networking.k8s.io/v1: Gateway API HTTPRoute.
// Spec types and the schema check come from @kubernetes-models/gateway-api; the shape below closes
// them (the package's validator accepts unknown fields). The package also models experimental
// fields; tests check what we emit against the v1.6 standard-channel CRD.
import { GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import { HTTPRoute as HTTPRouteModel } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IHTTPRouteSpec } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteSpec';
import { OPEN, ObjectShape } from './closed-shape';
import { FluxApiObject, FluxApiObjectProps } from './flux-api-object';

export type HTTPRouteSpec = IHTTPRouteSpec;
export type HTTPRouteProps = FluxApiObjectProps<HTTPRouteSpec>;

type Rule = NonNullable<HTTPRouteSpec['rules']>[number];
type Filter = NonNullable<Rule['filters']>[number];

const BACKEND_OBJECT_SHAPE = { group: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, port: OPEN } as const;
const HEADER_FILTER_SHAPE = { add: { name: OPEN, value: OPEN }, remove: OPEN, set: { name: OPEN, value: OPEN } } as const;
const PATH_MODIFIER_SHAPE = { type: OPEN, replaceFullPath: OPEN, replacePrefixMatch: OPEN } as const;

const FILTER_SHAPE: ObjectShape<Filter> = {
  type: OPEN,
  cors: { allowCredentials: OPEN, allowHeaders: OPEN, allowMethods: OPEN, allowOrigins: OPEN, exposeHeaders: OPEN, maxAge: OPEN },
  extensionRef: { group: OPEN, kind: OPEN, name: OPEN },
  externalAuth: {
    backendRef: BACKEND_OBJECT_SHAPE,
    forwardBody: { maxSize: OPEN },
    grpc: { allowedHeaders: OPEN },
    http: { allowedHeaders: OPEN, allowedResponseHeaders: OPEN, path: OPEN },
    protocol: OPEN,
  },
  requestHeaderModifier: HEADER_FILTER_SHAPE,
  responseHeaderModifier: HEADER_FILTER_SHAPE,
  requestMirror: { backendRef: BACKEND_OBJECT_SHAPE, fraction: { numerator: OPEN, denominator: OPEN }, percent: OPEN },
  requestRedirect: { hostname: OPEN, path: PATH_MODIFIER_SHAPE, port: OPEN, scheme: OPEN, statusCode: OPEN },
  urlRewrite: { hostname: OPEN, path: PATH_MODIFIER_SHAPE },
};

export const HTTP_ROUTE_SPEC_SHAPE: ObjectShape<HTTPRouteSpec> = {
  parentRefs: { group: OPEN, kind: OPEN, name: OPEN, namespace: OPEN, port: OPEN, sectionName: OPEN },
  useDefaultGateways: OPEN,
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
    retry: { attempts: OPEN, backoff: OPEN, codes: OPEN },
    sessionPersistence: { absoluteTimeout: OPEN, cookieConfig: { lifetimeType: OPEN }, idleTimeout: OPEN, sessionName: OPEN, type: OPEN },
  },
};

/** HTTPRoute: routes HTTP requests from a Gateway's listeners to Services. */
export class HTTPRoute extends FluxApiObject<HTTPRouteSpec> {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' };

  public constructor(scope: Construct, id: string, props: HTTPRouteProps) {
    super(scope, id, HTTPRoute.GVK, props, HTTPRouteModel, HTTP_ROUTE_SPEC_SHAPE);
  }
}
