// What synth need not compute again: the fleet file as the same code parsed it last time,
// and for each cluster what its files were rendered from (the code, its fleet entry, whether it had
// a token) with the hash of each file it wrote to dist/. A cluster whose inputs and files are both as
// recorded is taken from dist/ as it is; any other is rendered. Kept beside dist/ (like the lock),
// per clone, never committed. This file does I/O.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomically } from '../io/atomic-file';
import { readRegularFile, UnsafeFileError } from '../io/safe-read';
import { ClusterConfig, Fleet } from '../fleet/model';
import { FLEET_FILE_LIMIT_BYTES, parseFleetText, ParsedFleetText } from '../fleet/parse';
import { reparseFleet } from '../fleet/reparse';
import { isTreePath, OutputFile } from './dist-writer';
import { clusterDir } from '../layout';

/** The record's layout, checked before anything in it is read (other code never matches a record's keys anyway). */
const FORMAT = 3;

interface ClusterRecord {
  /** The hash of what the cluster was rendered from. */
  readonly inputs: string;
  /** The hash of each file rendered, by its path in dist/. */
  readonly files: Record<string, string>;
}

interface FleetRecord {
  /** The code that parsed it. */
  readonly build: string;
  readonly text: string;
  readonly parsed: ParsedFleetText;
}

interface CacheFile {
  readonly format: number;
  readonly fleet?: FleetRecord;
  readonly clusters: Record<string, ClusterRecord>;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The record holds the fleet file's text and its parse: a few times the largest fleet file. */
const CACHE_FILE_LIMIT_BYTES = 8 * FLEET_FILE_LIMIT_BYTES;

/** A record as used: keyed by cluster and path in Maps, so that no name is ever taken for an Object.prototype property. */
interface Previous {
  readonly fleet?: FleetRecord;
  readonly clusters: ReadonlyMap<string, { readonly inputs: string; readonly files: ReadonlyMap<string, string> }>;
}

const EMPTY: Previous = { clusters: new Map() };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether `value` has the shape this code writes: anything else is ignored, never half used. */
function isCacheFile(value: unknown): value is CacheFile {
  if (!isObject(value) || value.format !== FORMAT || !isObject(value.clusters)) return false;
  const fleet = value.fleet;
  if (fleet !== undefined && !(isObject(fleet) && typeof fleet.build === 'string' && typeof fleet.text === 'string' && isObject(fleet.parsed) && isObject(fleet.parsed.fleet) && Array.isArray(fleet.parsed.fleet.clusters))) return false;
  return Object.values(value.clusters).every((record) => isObject(record) && typeof record.inputs === 'string' && isObject(record.files)
    && Object.values(record.files).every((hash) => typeof hash === 'string'));
}

/**
 * The record in `file` and its text as read, or the empty record (and no text) when it is missing,
 * damaged or not ours. A link, a FIFO or a device in its place is refused in one line
 * (lib/io/safe-read.ts), never read through or replaced.
 */
function readCacheFile(file: string): { record: Previous; text?: string } {
  const text = readRegularFile(file, { maxBytes: CACHE_FILE_LIMIT_BYTES, what: `the render cache ${file}` });
  if (text === undefined) return { record: EMPTY };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Everything is computed, and the file written anew.
    return { record: EMPTY };
  }
  if (!isCacheFile(parsed)) return { record: EMPTY };
  // JSON.parse keeps a "__proto__" key as an own property: Object.entries sees it as any other.
  const clusters = new Map(Object.entries(parsed.clusters).map(([name, record]) => [name, { inputs: record.inputs, files: new Map(Object.entries(record.files)) }]));
  return { record: { fleet: parsed.fleet, clusters }, text };
}

export class RenderCache {
  private readonly previous: Previous;
  /** The file's text as read: a record that would be written the same is not written again. */
  private readonly previousText?: string;
  private readonly next: { fleet?: FleetRecord; clusters: Map<string, ClusterRecord> } = { clusters: new Map() };

  /**
   * @param file the record, beside dist/
   * @param build the code that renders (the launcher's bundle): a record made by other code never matches
   */
  public constructor(private readonly file: string, private readonly build: string) {
    ({ record: this.previous, text: this.previousText } = readCacheFile(file));
  }

  /**
   * The fleet `text` parses to: the one parsed last time when the text and the code are the same,
   * only the edited cluster parsed again when one cluster's entry changed (lib/fleet/reparse.ts),
   * otherwise the whole file. Throws FleetError as parseFleet does.
   */
  public fleet(text: string, fileName: string): Fleet {
    const previous = this.previous.fleet?.build === this.build ? this.previous.fleet : undefined;
    const parsed = previous === undefined ? parseFleetText(text, fileName) : previous.text === text ? previous.parsed : reparseFleet(previous, text, fileName);
    this.next.fleet = { build: this.build, text, parsed };
    return parsed.fleet;
  }

  /**
   * What a cluster's files follow from. The token's value is not part of it, so that no secret, not
   * even a hash of one, is written here: only the sensitive Secret manifest holds it, and that is
   * never cached (test/render-cache.test.ts checks the other files do not depend on it).
   */
  public inputsOf(config: ClusterConfig, hasToken: boolean): string {
    return sha256(JSON.stringify([this.build, config, hasToken]));
  }

  /** The cluster's files as dist/ holds them, when they are what the same inputs rendered last time; otherwise undefined. */
  public reuse(cluster: string, inputs: string, distDir: string): OutputFile[] | undefined {
    const record = this.previous.clusters.get(cluster);
    if (record?.inputs !== inputs) return undefined;
    const files: OutputFile[] = [];
    for (const [path, hash] of record.files) {
      // Only the cluster's own folder: a record naming anything else was not written here. (A link
      // on the way is refused by the dist/ writer before anything is written.)
      if (!isTreePath(path) || !path.startsWith(`${clusterDir(cluster)}/`)) return undefined;
      // A link, FIFO or device in place of a generated file (planted, or pulled) is refused in one line.
      let content: string | undefined;
      try {
        content = readRegularFile(join(distDir, path));
      } catch (error) {
        if (error instanceof UnsafeFileError) throw error;
        return undefined;
      }
      if (content === undefined || sha256(content) !== hash) return undefined;
      files.push({ path, content, onDisk: true });
    }
    return files;
  }

  /** Records what the cluster's files are now, for the next synth. */
  public record(cluster: string, inputs: string, files: readonly OutputFile[]): void {
    this.next.clusters.set(cluster, { inputs, files: Object.fromEntries(files.map((file) => [file.path, sha256(file.content)])) });
  }

  /** Writes the record, once dist/ holds what it says, unless it is unchanged. Only a cache: a failure to write it is ignored. */
  public save(): void {
    // Object.fromEntries defines each key as its own property, "__proto__" included.
    const content = JSON.stringify({ format: FORMAT, fleet: this.next.fleet, clusters: Object.fromEntries(this.next.clusters) } satisfies CacheFile);
    if (content === this.previousText) return;
    try {
      writeFileAtomically(this.file, content);
    } catch {
      // The next synth renders every cluster, as without a cache.
    }
  }
}
