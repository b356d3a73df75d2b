// Edits of the fleet file that keep what people wrote: comments, alignment, quoting and order.
// Only the list being changed is rewritten; no I/O here.
import { isScalar, isSeq, parseDocument, stringify } from 'yaml';

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
    // Quoted only where YAML needs it, as the library would write it.
    const scalar = (value: string) => stringify(value).trimEnd();
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
  document.setIn(path, document.createNode([...items]));
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}
