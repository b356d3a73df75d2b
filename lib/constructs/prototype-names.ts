// Names the fleet chooses that are also names of Object.prototype (`constructor`, a valid RFC 1123
// name and annotation key): the constructs library and cdk8s keep and render plain objects, where
// such a key is taken for the prototype's. These put them in without going through those objects.
import { ApiObject, JsonPatch } from 'cdk8s';

/**
 * The construct id of an object the fleet names. The constructs library keeps a construct's
 * children in a plain object keyed by id, where `constructor` would be taken for an existing
 * child: such a name gets a `_` appended. Fleet names are RFC 1123 (no `_`), so the id is still one
 * of its own. The object keeps its name; only the id differs.
 */
export function constructIdOf(name: string): string {
  return name in Object.prototype ? `${name}_` : name;
}

/**
 * Adds `annotations` to `resource`'s metadata. cdk8s renders only objects whose `constructor` is
 * Object's, so a map with a `constructor` key cannot go through it: such a map is put in whole by a
 * JSON patch, which cdk8s applies to what it rendered, with its keys sorted as cdk8s sorts them.
 */
export function addAnnotations(resource: ApiObject, annotations: Readonly<Record<string, string>> | undefined): void {
  const entries = Object.entries(annotations ?? {});
  if (entries.every(([key]) => !(key in Object.prototype))) {
    for (const [key, value] of entries) resource.metadata.addAnnotation(key, value);
    return;
  }
  const sorted = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  resource.addJsonPatch(JsonPatch.add('/metadata/annotations', Object.fromEntries(sorted)));
}
