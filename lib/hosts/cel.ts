// Pieces of the CEL expressions the Receivers' filters are made of. Standard CEL only (has, type,
// ==, startsWith, matches, exists): notification-controller registers no extension library. Every
// field is guarded by its presence and its type before it is read: in cel-go a field that holds
// null is present, and reading into it, or calling a string method on it, is an error, which makes
// the controller answer 500 for the whole delivery.
import { RefMatch } from './git-host';

/** A CEL string literal. */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An RE2 pattern matching `value` exactly, ignoring case (repository names are case-insensitive on every host). */
export function exactIgnoringCase(value: string): string {
  return `(?i)^${value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}$`;
}

/** `path` (below `root`, e.g. req or c) is present at every step, each step a map, and the last of `type`. */
export function present(path: string, type: 'string' | 'list' | 'map' = 'string', root = 'req'): string {
  const parts = path.split('.');
  return parts.map((_part, index) => {
    const field = `${root}.${parts.slice(0, index + 1).join('.')}`;
    return `has(${field}) && type(${field}) == ${index === parts.length - 1 ? type : 'map'}`;
  }).join(' && ');
}

/** The full refs a ref match takes: one ref exactly, or (semver) any under refs/tags/. */
export function fullRefOf(ref: Exclude<RefMatch, { kind: 'none' }>): { readonly test: 'equals' | 'startsWith'; readonly value: string } {
  if (ref.kind === 'branch') return { test: 'equals', value: `refs/heads/${ref.name}` };
  if (ref.kind === 'tag') return { test: 'equals', value: `refs/tags/${ref.name}` };
  return { test: 'startsWith', value: 'refs/tags/' };
}

/** `field` (a present string) names the ref `ref` matches, as refs/heads/... or refs/tags/.... */
export function refTest(field: string, ref: Exclude<RefMatch, { kind: 'none' }>): string {
  const full = fullRefOf(ref);
  return full.test === 'equals' ? `${field} == ${celString(full.value)}` : `${field}.startsWith(${celString(full.value)})`;
}

/** A Git object id of zeros: the `after` of a push that deleted its ref. */
export const ZERO_SHA = '0'.repeat(40);
