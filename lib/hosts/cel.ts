// Pieces of the CEL expressions the Receivers' filters are made of. Standard CEL only (has, ==,
// startsWith, matches, exists): notification-controller registers no extension library.

/** A CEL string literal. */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An RE2 pattern matching `value` exactly, ignoring case (repository names are case-insensitive on every host). */
export function exactIgnoringCase(value: string): string {
  return `(?i)^${value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}$`;
}

/** `field` (a path below req) is present at every step. */
export function present(path: string): string {
  const parts = path.split('.');
  return parts.map((_part, index) => `has(req.${parts.slice(0, index + 1).join('.')})`).join(' && ');
}
