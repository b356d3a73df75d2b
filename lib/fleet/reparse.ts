// Parsing a fleet file again after an edit inside one cluster's entry: that entry alone is parsed,
// with the file's top level around it, and put in place of the old one; anything else is parsed
// whole. Both go through parseFleetText, so every rule is the same; this file only decides whether
// one entry is enough. No I/O.
import { DEFAULT_PATHS } from '../layout';
import { parseFleetText, ParsedFleetText, sharedUrlProblems } from './parse';

/** The fleet file's text as it was parsed last time, and what that gave. */
export interface PreviousParse {
  readonly text: string;
  readonly parsed: ParsedFleetText;
}

/** `parseFleetText(text)`, computed from `previous` when the edit lies within one cluster's entry. */
export function reparseFleet(previous: PreviousParse, text: string, fileName = DEFAULT_PATHS.fleetFile): ParsedFleetText {
  return reparseOneCluster(previous, text, fileName) ?? parseFleetText(text, fileName);
}

/** The edited text's span, as offsets into the old text: what lies before it and after it is the same in both. */
function changedRange(before: string, after: string): { start: number; end: number } {
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let same = 0;
  while (same < shorter - start && before.charCodeAt(before.length - 1 - same) === after.charCodeAt(after.length - 1 - same)) same++;
  return { start, end: before.length - same };
}

/** The fleet with only the edited cluster's entry parsed again, or undefined when the edit is not within one entry that stands alone. */
export function reparseOneCluster(previous: PreviousParse, text: string, fileName: string): ParsedFleetText | undefined {
  const spans = previous.parsed.spans;
  if (spans === undefined || spans.length === 0) return undefined;
  // The entries must be the clusters, one for one: an entry the fleet lacks (a key the parse
  // dropped, a damaged record) would otherwise be edited in nowhere and stay gone.
  const clusters = previous.parsed.fleet.clusters;
  if (clusters.length !== spans.length || spans.some((span, at) => clusters[at]?.name !== span.name)) return undefined;
  const changed = changedRange(previous.text, text);
  const index = spans.findIndex((span) => span.start <= changed.start && changed.end <= span.end);
  if (index < 0) return undefined;
  const span = spans[index];
  const delta = text.length - previous.text.length;
  const entryEnd = span.end + delta;
  // The file without the other clusters' entries: its top level (repository:, comments) is kept.
  const head = text.slice(0, spans[0].start);
  const alone = `${head}${text.slice(span.start, entryEnd)}${text.slice(spans[spans.length - 1].end + delta)}`;
  let parsed: ParsedFleetText;
  try {
    parsed = parseFleetText(alone, fileName);
  } catch {
    // Its problems are reported with the right lines by parsing the whole file.
    return undefined;
  }
  // The edited text must still be exactly one entry: not two, not one with a line moved out of it,
  // and at its old column (indented deeper, the whole file reads it as part of the entry before).
  const entry = parsed.spans?.length === 1 ? parsed.spans[0] : undefined;
  if (entry?.start !== head.length || entry.end !== head.length + (entryEnd - span.start) || entry.column !== span.column) return undefined;
  const cluster = parsed.fleet.clusters[0];
  const others = clusters.filter((other) => other.name !== span.name);
  if (others.some((other) => other.name === cluster.name)) return undefined;
  if (JSON.stringify(parsed.fleet.repository) !== JSON.stringify(previous.parsed.fleet.repository)) return undefined;
  const edited = clusters.map((other, at) => (at === index ? cluster : other));
  if (sharedUrlProblems(edited, (_path, message) => message).length > 0) return undefined;
  return {
    fleet: parsed.fleet.repository === undefined ? { clusters: edited } : { clusters: edited, repository: parsed.fleet.repository },
    spans: spans.map((other, at) => {
      if (at < index) return other;
      if (at === index) return { ...other, name: cluster.name, end: entryEnd };
      return { ...other, start: other.start + delta, end: other.end + delta };
    }),
  };
}
