// Edits of the fleet file that keep what people wrote: comments, alignment, quoting and order.
// Only the list being changed is rewritten; no I/O here.
import { Document, isMap, isScalar, isSeq, parseDocument, stringify, Node as YamlNode, YAMLMap } from 'yaml';

/** The strings of the list at `path` in the fleet file's text, or undefined where there is none. */
export function listAt(text: string, path: readonly string[]): string[] | undefined {
  const list = parseDocument(text).getIn(path, true);
  return isSeq(list) ? list.items.map((item) => String(isScalar(item) ? item.value : item)) : undefined;
}

/**
 * The fleet file's text with the list at `path` holding `items`. An existing list is edited in the
 * text itself: the items it keeps at its start stay byte for byte (with their comments), the rest
 * is written after them. A missing list is added through the YAML library, which keeps comments.
 */
export function withList(text: string, path: readonly string[], items: readonly string[]): string {
  if (items.length === 0) throw new Error(`withList: no items for ${path.join('.')}: remove the list instead`);
  const document = parseDocument(text);
  const list = document.getIn(path, true);
  if (isSeq(list) && list.range && list.items.length > 0) {
    const [start, end] = list.range;
    if (list.flow) return `${text.slice(0, start)}[${items.map(scalar).join(', ')}]${text.slice(end)}`;
    const existing = list.items.map((item) => String(isScalar(item) ? item.value : item));
    let kept = 0;
    while (kept < existing.length && kept < items.length && existing[kept] === items[kept]) kept++;
    const indent = ' '.repeat(start - text.lastIndexOf('\n', start - 1) - 1);
    const itemEnd = (index: number) => (list.items[index] as { range?: [number, number, number] }).range?.[1] ?? end;
    // An item's line, with its trailing comment: kept with a kept item, dropped with a dropped one.
    const lineEnd = (offset: number) => (text.indexOf('\n', offset) === -1 ? text.length : text.indexOf('\n', offset));
    const rest = text.slice(lineEnd(itemEnd(existing.length - 1)));
    const added = items.slice(kept).map((item) => `- ${scalar(item)}`);
    if (kept === 0) return `${text.slice(0, start)}${added.join(`\n${indent}`)}${rest}`;
    return `${text.slice(0, lineEnd(itemEnd(kept - 1)))}${added.map((line) => `\n${indent}${line}`).join('')}${rest}`;
  }
  return withNewList(text, document, path, items.map(scalar)) ?? fallback(document, path, items);
}

/** Quoted only where YAML needs it, as the library would write it. */
function scalar(value: string): string {
  return stringify(value).trimEnd();
}

/** The whole file rewritten by the YAML library (comments kept, layout normalized): only where the text cannot be edited in place. */
function fallback(document: Document.Parsed, path: readonly string[], items: readonly string[]): string {
  document.setIn(path, document.createNode([...items]));
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/**
 * The text with an entry added after `mapping`'s last one, in the mapping's style: `, <flow>` in a
 * flow mapping; in a block mapping, the lines `block` gives for its keys' indent, after the last
 * entry's line (its trailing comment stays with it). Undefined where there is no such place.
 */
function withEntryAfterLast(text: string, mapping: YAMLMap, flow: string, block: (indent: number) => string[]): string | undefined {
  if (!mapping.range || mapping.items.length === 0) return undefined;
  const last = mapping.items[mapping.items.length - 1];
  const lastEnd = ((last.value ?? last.key) as YamlNode | null)?.range?.[1];
  if (lastEnd === undefined) return undefined;
  if (mapping.flow) return `${text.slice(0, lastEnd)}, ${flow}${text.slice(lastEnd)}`;
  const firstKey = (mapping.items[0].key as YamlNode).range![0];
  const indent = firstKey - text.lastIndexOf('\n', firstKey - 1) - 1;
  const newline = text.indexOf('\n', Math.max(lastEnd - 1, 0));
  const at = newline === -1 ? text.length : newline;
  return `${text.slice(0, at)}\n${block(indent).join('\n')}${text.slice(at)}`;
}

/**
 * The text with a list that does not exist yet added inside the deepest mapping of `path` that does,
 * with the mappings between, written after that mapping's last entry in its own style (block or
 * flow). Undefined where there is no such mapping to edit in place.
 */
function withNewList(text: string, document: Document.Parsed, path: readonly string[], quoted: readonly string[]): string | undefined {
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const parent = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    if (parent === null || parent === undefined) continue;
    if (!isMap(parent)) return undefined;
    const keys = path.slice(depth);
    const flow = keys.slice(1).reduceRight((inner, key) => `{${scalar(key)}: ${inner}}`, `[${quoted.join(', ')}]`);
    return withEntryAfterLast(text, parent, `${scalar(keys[0])}: ${flow}`, (indent) => [
      ...keys.map((key, index) => `${' '.repeat(indent + 2 * index)}${scalar(key)}:`),
      ...quoted.map((item) => `${' '.repeat(indent + 2 * keys.length)}- ${item}`),
    ]);
  }
  return undefined;
}

/**
 * The fleet file's text with the scalar at `path` set to `value` (a number or a plain string): an
 * existing value is replaced in the text; a missing one is added as a line after the last entry of
 * its block mapping (a flow mapping gets `, key: value`). Elsewhere the YAML library writes it,
 * comments kept.
 */
export function withScalar(text: string, path: readonly (string | number)[], value: number | string): string {
  const written = typeof value === 'number' ? String(value) : scalar(value);
  const document = parseDocument(text);
  const current = document.getIn(path, true);
  if (isScalar(current) && current.range) return `${text.slice(0, current.range[0])}${written}${text.slice(current.range[1])}`;
  const parent = document.getIn(path.slice(0, -1), true);
  const entry = `${scalar(String(path[path.length - 1]))}: ${written}`;
  if (current === undefined && isMap(parent)) {
    const edited = withEntryAfterLast(text, parent, entry, (indent) => [`${' '.repeat(indent)}${entry}`]);
    if (edited !== undefined) return edited;
  }
  document.setIn(path, value);
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}
