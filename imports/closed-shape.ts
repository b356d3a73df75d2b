/**
 * Closed shapes: the set of field names an API object may carry, checked at synth time.
 *
 * The API server prunes fields that its CRD schema does not know, silently, so a typo such as
 * `spec.intreval` would vanish without a word. The schema validators shipped with
 * `@kubernetes-models/flux-cd` accept unknown fields, so we close them here. A shape is typed
 * against the package's interfaces: `ObjectShape<T>` must name every field of `T` and no other,
 * so the compiler keeps these lists in step with the maintained types on every upgrade.
 */

/** A scalar, or a value whose inside is free-form (a string map such as labels). */
export const OPEN = 'open' as const;
export type Open = typeof OPEN;

type IsAny<T> = 0 extends 1 & T ? true : false;

/** The shape of one field's value: arrays take the shape of their items. */
export type FieldShape<T> =
  IsAny<T> extends true ? Open :
  NonNullable<T> extends ReadonlyArray<infer Item> ? FieldShape<Item> :
  NonNullable<T> extends string | number | boolean ? Open :
  string extends keyof NonNullable<T> ? Open :
  ObjectShape<NonNullable<T>>;

/** Every field of `T`, each with the shape of its value. */
export type ObjectShape<T> = { readonly [K in keyof Required<T>]-?: FieldShape<T[K]> };

/** What a runtime walk needs: no types, only names. */
export type Shape = Open | { readonly [field: string]: Shape };

/**
 * Lists the fields of `value` that `shape` does not know, as dotted paths below `path`.
 * Arrays are walked item by item (`path[0].field`).
 */
export function unknownFields(value: unknown, shape: Shape, path: string): string[] {
  if (shape === OPEN || value === null || typeof value !== 'object') {
    return [];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => unknownFields(item, shape, `${path}[${index}]`));
  }
  const found: string[] = [];
  for (const [field, fieldValue] of Object.entries(value)) {
    const fieldShape = shape[field];
    if (fieldShape === undefined) {
      found.push(`${path}.${field}`);
    } else {
      found.push(...unknownFields(fieldValue, fieldShape, `${path}.${field}`));
    }
  }
  return found;
}
