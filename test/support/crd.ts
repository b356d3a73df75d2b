// Validates objects against a CustomResourceDefinition's openAPIV3Schema as the API server reads it,
// with one difference that matters to us: where the server would prune an unknown field silently,
// this reports it. CEL rules (x-kubernetes-validations) are not evaluated.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse } from 'yaml';

function closed(schema: any): any {
  if (schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map(closed);
  const copy: any = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!key.startsWith('x-kubernetes-')) copy[key] = closed(value);
  }
  if (schema.properties !== undefined && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
    copy.additionalProperties = false;
  }
  if (schema['x-kubernetes-int-or-string']) {
    delete copy.type;
    copy.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  return copy;
}

/** The errors of `object` against the CRD's schema for its version, one line each (`/spec/... message`). */
export function crdValidator(crdFile: string): (object: any) => string[] {
  const crd = parse(readFileSync(crdFile, 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The formats Kubernetes' OpenAPI schemas use, as the API server checks them.
  const integer = (bits: number) => ({ type: 'number' as const, validate: (value: number) => Number.isInteger(value) && Math.abs(value) <= 2 ** (bits - 1) });
  ajv.addFormat('int32', integer(32));
  ajv.addFormat('int64', integer(64));
  ajv.addFormat('date-time', (value: string) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value));
  const validators = new Map<string, ReturnType<Ajv['compile']>>();
  for (const version of crd.spec.versions) {
    validators.set(`${crd.spec.group}/${version.name}`, ajv.compile(closed(version.schema.openAPIV3Schema)));
  }
  return (object) => {
    const validate = validators.get(object.apiVersion);
    if (object.kind !== crd.spec.names.kind || validate === undefined) return [`${object.apiVersion} ${object.kind} is not served by ${crd.metadata.name}`];
    return validate(object) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}${error.params && 'additionalProperty' in error.params ? `: ${error.params.additionalProperty}` : ''}`);
  };
}
