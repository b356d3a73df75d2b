// The construct id of an object the fleet names. No I/O.

/**
 * The constructs library keeps a construct's children in a plain object keyed by id, where a
 * name of Object.prototype (`constructor`, a valid RFC 1123 name) would be taken for an existing
 * child. Such a name gets a `_` appended: fleet names are RFC 1123 (no `_`), so the id is still
 * one of its own. The object keeps its name; only the id differs.
 */
export function constructIdOf(name: string): string {
  return name in Object.prototype ? `${name}_` : name;
}
