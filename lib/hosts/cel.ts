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

/** `field` (a present string) names the ref `ref` matches, as refs/heads/... or refs/tags/.... */
export function refTest(field: string, ref: Exclude<RefMatch, { kind: 'none' }>): string {
  if (ref.kind === 'branch') return `${field} == ${celString(`refs/heads/${ref.name}`)}`;
  if (ref.kind === 'tag') return `${field} == ${celString(`refs/tags/${ref.name}`)}`;
  return `${field}.startsWith('refs/tags/')`;
}

/** A Git object id of zeros: the `after` of a push that deleted its ref. */
export const ZERO_SHA = '0'.repeat(40);
