import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, YAMLError, YAMLMap, Node as YamlNode } from 'yaml';
import leven from 'leven';
import { z } from 'zod';

import { goDurationProblem } from './durations';
import { annotationKeyProblem, controlCharacterInTextProblem, controlCharacterProblem, rfc1123LabelProblem, rfc1123SubdomainProblem } from './names';
import { apiUrlProblem, gitCommitProblem, gitRefChoice, gitRefNameProblem, gitUrlProblem, semverRangeProblem, sourcePathProblem } from './git';
import { cidrProblem, dnsNameProblem, hostProblem, nodePortProblem, portProblem } from './network';
import { canonicalOrigin, exposureChoiceProblems, receiverOrigin } from './exposure';
import { AppConfig, ClusterConfig, Fleet, FleetRepositoryConfig, GIT_HOST_KINDS, GitSourceConfig, ReceiverConfig, ReceiverType, SopsConfig, WebhookExposureConfig } from './model';
import { FLEET_REPOSITORY_RECEIVER, lookAlikeHostProblem, receiverTypeProblems } from './git-hosts';
import { ageRecipientProblem } from './age-recipients';
import { dependencyCycle } from './dependencies';
import { unknownReferenceProblem } from './references';
import { oidcAudienceProblem, oidcIssuerProblem, oidcReceiverProblems, oidcAudienceOwners } from '../hosts/oidc';
import { DEFAULT_PATHS } from '../layout';
import { maskSecretShapes } from '../secrets/secret-shapes';

/**
 * The largest fleet file read: the bench's 1000-cluster fleet (tools/bench.ts) is about 1.1 MB, so
 * this leaves room for ten times that, and keeps a runaway file from taking gigabytes to parse.
 */
export const FLEET_FILE_LIMIT_BYTES = 16 * 1024 * 1024;

/** The longest value (or key) in the fleet file: names, URLs, paths, annotations and .sourceignore rules are far shorter. */
export const FLEET_VALUE_LIMIT_CHARS = 64 * 1024;

/**
 * A fleet file that cannot be used; `problems` holds one line per mistake, each naming its place.
 * Messages quote values: one that looks like an age secret key or a token is masked here, once for all.
 */
export class FleetError extends Error {
  public readonly problems: string[];

  public constructor(problems: string[]) {
    const masked = problems.map((line) => maskSecretShapes(line));
    super(masked.join('\n'));
    this.problems = masked;
    this.name = 'FleetError';
  }
}

// A string field checked by one of our `...Problem` functions (undefined = fine).
const checked = (problem: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

/** A custom issue's params when it is about a key (a field that should not be there), not its value. */
const AT_KEY = { at: 'key' };

/** How often Flux may poll or retry: not more than once a second. */
const POLLING_MINIMUM_MS = 1000;

const objectName = checked(rfc1123SubdomainProblem);
const duration = checked((text) => goDurationProblem(text));
const pollingDuration = checked((text) => goDurationProblem(text, POLLING_MINIMUM_MS));

/** A URL whose host can pass for another's is taken only where the fleet names its Git host (`host:`). */
function lookAlikeHostIssue(repository: { url: string; host?: string }, ctx: z.RefinementCtx): void {
  const problem = repository.host === undefined ? lookAlikeHostProblem(repository.url) : undefined;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
}

/** A repository's or owner's id on its Git host, as the hosts' APIs give them (npm run webhook -- ids <cluster>). */
const hostId = z.number().int().positive();

const sourceSchema = z.strictObject({
  name: objectName,
  url: checked(gitUrlProblem),
  branch: checked(gitRefNameProblem).optional(),
  tag: checked(gitRefNameProblem).optional(),
  semver: checked(semverRangeProblem).optional(),
  commit: checked(gitCommitProblem).optional(),
  interval: pollingDuration.optional(),
  timeout: duration.optional(),
  secretName: objectName.optional(),
  ignore: checked(controlCharacterInTextProblem).optional(),
  host: z.enum(GIT_HOST_KINDS).optional(),
  apiUrl: checked(apiUrlProblem).optional(),
  repositoryId: hostId.optional(),
  ownerId: hostId.optional(),
}).superRefine((source, ctx) => {
  const choice = gitRefChoice(source);
  if ('problem' in choice) ctx.addIssue({ code: 'custom', path: [choice.extra], message: choice.problem });
  lookAlikeHostIssue(source, ctx);
});

const appSchema = z.strictObject({
  name: objectName,
  source: z.string(),
  path: checked(sourcePathProblem),
  interval: pollingDuration.optional(),
  retryInterval: pollingDuration.optional(),
  timeout: duration.optional(),
  prune: z.boolean().optional(),
  wait: z.boolean().optional(),
  targetNamespace: checked(rfc1123LabelProblem).optional(),
  dependsOn: z.array(z.string()).optional(),
});

const receiverSchema = z.strictObject({
  name: objectName,
  type: z.enum(Object.values(ReceiverType) as [`${ReceiverType}`, ...`${ReceiverType}`[]]).optional(),
  events: z.array(checked((event) => (event === '' ? 'must not be empty' : controlCharacterProblem(event)))).optional(),
  sources: z.array(z.string()).min(1, 'needs at least one source to reconcile'),
  filter: z.boolean().optional(),
  oidc: z.strictObject({
    audience: checked(oidcAudienceProblem).optional(),
    issuer: checked(oidcIssuerProblem).optional(),
    allowPlainHttp: z.boolean().optional(),
  }).optional(),
}).superRefine((receiver, ctx) => {
  const oidc = receiver.type === ReceiverType.GENERIC_OIDC;
  if (receiver.oidc !== undefined && !oidc) {
    ctx.addIssue({ code: 'custom', path: ['oidc'], params: AT_KEY, message: `is for generic-oidc Receivers only: set type: generic-oidc, or remove oidc (a ${receiver.type ?? 'token-based'} Receiver checks a token)` });
  }
  if (oidc && receiver.events !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['events'], params: AT_KEY, message: 'a generic-oidc Receiver takes no events (its validations pin the CI event): remove events' });
  }
});

const repositorySchema = z.union([
  checked((url) => gitUrlProblem(url) ?? lookAlikeHostProblem(url)),
  z.strictObject({
    url: checked(gitUrlProblem),
    branch: checked(gitRefNameProblem).optional(),
    host: z.enum(GIT_HOST_KINDS).optional(),
    apiUrl: checked(apiUrlProblem).optional(),
    receiver: z.boolean().optional(),
  }).superRefine(lookAlikeHostIssue),
], { error: 'must be the fleet repository\'s URL, or a mapping with url (and branch, host, apiUrl, receiver)' });

/**
 * A mapping of names the fleet chooses (clusters, annotations), each key checked by `keyProblem`.
 * zod skips a `__proto__` key without a word (assigning it would set the prototype), so it is
 * checked here first, by the same rule, and refused like any other bad key, never dropped.
 */
const namedMapping = <T extends z.ZodType>(keyProblem: (key: string) => string | undefined, value: T) =>
  z.preprocess((input, ctx) => {
    if (typeof input === 'object' && input !== null && Object.hasOwn(input, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: ['__proto__'], message: keyProblem('__proto__') ?? '"__proto__" cannot be a key: choose another name', params: AT_KEY });
    }
    return input;
  }, z.record(checked(keyProblem), value));

const cidrList = (empty: string) => z.array(checked(cidrProblem)).min(1, empty);
const annotations = namedMapping(annotationKeyProblem, checked(controlCharacterInTextProblem));
const port = (problem: (port: number) => string | undefined) => z.number().int().superRefine((value, ctx) => {
  const message = problem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
});

const webhookSchema = z.strictObject({
  nodePort: port(nodePortProblem).optional(),
  address: checked(hostProblem).optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  loadBalancer: z.strictObject({
    address: checked((host) => hostProblem(host, 'the load balancer')).optional(),
    sourceRanges: cidrList('is empty: list CIDRs, or remove sourceRanges to admit anywhere').optional(),
    annotations: annotations.optional(),
    tls: z.boolean().optional(),
  }).optional(),
  gateway: z.strictObject({
    parentRef: z.strictObject({
      name: checked(rfc1123SubdomainProblem),
      namespace: checked(rfc1123LabelProblem).optional(),
      sectionName: checked(rfc1123SubdomainProblem).optional(),
      port: port(portProblem).optional(),
    }),
    hostname: checked(dnsNameProblem),
    tls: z.boolean().optional(),
  }).optional(),
  ingress: z.strictObject({
    className: checked(rfc1123SubdomainProblem).optional(),
    hostname: checked(dnsNameProblem),
    tls: z.union([
      z.literal(false),
      z.strictObject({ secretName: checked(rfc1123SubdomainProblem), clusterIssuer: checked(rfc1123SubdomainProblem).optional() }),
    ], { error: 'must be false (plain HTTP) or a mapping with secretName (and clusterIssuer for cert-manager)' }).optional(),
    annotations: annotations.optional(),
  }).optional(),
  networkPolicy: z.boolean().optional(),
  allowFrom: cidrList('is empty: list CIDRs, or set networkPolicy: false').optional(),
}).superRefine((webhook, ctx) => {
  // Each names a field that should not be there, or the block that lacks one: point at its key.
  for (const { path, message } of exposureChoiceProblems(webhook as Record<string, unknown>)) ctx.addIssue({ code: 'custom', path, message, params: AT_KEY });
});

const sopsSchema = z.strictObject({
  ageRecipients: z.array(checked(ageRecipientProblem)).optional(),
}).superRefine((sops, ctx) => {
  const recipients = sops.ageRecipients ?? [];
  if (recipients.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['ageRecipients'],
      message: 'has no recipient, but this cluster asks for encrypted secrets: add its age public key (npm run secrets -- age-key <cluster> --write-fleet), or remove sops',
    });
  }
  recipients.forEach((recipient, index) => {
    if (recipients.indexOf(recipient) !== index) ctx.addIssue({ code: 'custom', path: ['ageRecipients', index], message: `"${recipient}" is listed twice` });
  });
});

const clusterSchema = z.strictObject({
  sops: sopsSchema.optional(),
  namespace: checked(rfc1123LabelProblem).optional(),
  webhook: webhookSchema,
  sources: z.array(sourceSchema).min(1, 'needs at least one source'),
  apps: z.array(appSchema).default([]),
  receivers: z.array(receiverSchema).default([]),
});

const fleetSchema = z.strictObject({
  repository: repositorySchema.optional(),
  clusters: namedMapping(rfc1123LabelProblem, clusterSchema).superRefine((clusters, ctx) => {
    if (Object.keys(clusters).length === 0) ctx.addIssue({ code: 'custom', message: 'lists no cluster' });
  }),
});

type Path = (string | number)[];
type ClusterInput = z.infer<typeof clusterSchema>;

/**
 * Parses and checks a fleet file. Throws FleetError listing every problem as
 * `<file>:<line>:<column>: <path>: <what is wrong and how to fix it>`.
 */
export function parseFleet(text: string, fileName = DEFAULT_PATHS.fleetFile): Fleet {
  return parseFleetText(text, fileName).fleet;
}

/** Where a cluster's entry is in the fleet file's text: from the start of its key's line to the start of the next entry's (or of what follows `clusters:`). */
export interface ClusterSpan {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** The column of the cluster's key: every entry of the block mapping has the same one. */
  readonly column: number;
}

/** A fleet, with where each cluster's entry is when one entry can be parsed alone (lib/fleet/reparse.ts). */
export interface ParsedFleetText {
  readonly fleet: Fleet;
  /** Undefined unless `clusters:` is a block mapping with no anchor or alias in it, and no cluster is named by a number (a JS object would put it first). */
  readonly spans?: ClusterSpan[];
}

/** `parseFleet`, with the clusters' spans. */
export function parseFleetText(text: string, fileName = DEFAULT_PATHS.fleetFile): ParsedFleetText {
  const lineCounter = new LineCounter();
  // Keys are compared as the text they become: `123` and `"123"` (or `true` and `"true"`) are one key.
  const sameKey = (a: unknown, b: unknown) => String(isScalar(a) ? a.value : a) === String(isScalar(b) ? b.value : b);
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: sameKey });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return fileName;
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };
  const yamlProblems = [...document.errors, ...document.warnings].map((error) => `${at(error.pos[0])}: ${yamlMessage(error, document)}`);
  yamlProblems.push(...structureProblems(document).map(({ offset, message }) => `${at(offset)}: ${message}`));
  if (yamlProblems.length > 0) throw new FleetError(yamlProblems);
  const problem = (path: Path, message: string, target: 'key' | 'value' = 'value') => {
    const place = formatPath(path);
    return `${at(offsetOf(document.contents, path, target))}: ${place === '' ? '' : `${place}: `}${message}`;
  };

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw new FleetError([`${at(firstAliasOffset(document))}: aliases expand to too much (${(error as Error).message.split('\n')[0]}): write the values out`]);
  }
  const parsed = fleetSchema.safeParse(data ?? {}, { reportInput: true });
  if (!parsed.success) {
    throw new FleetError(withoutConsequences(parsed.error.issues).flatMap((issue) => issueLines(issue, problem)));
  }

  const problems: string[] = [];
  const input = parsed.data.repository;
  const repository: FleetRepositoryConfig | undefined = typeof input === 'string' ? { url: input } : input;
  const clusters = Object.entries(parsed.data.clusters).map(([name, cluster]) => {
    const base = ['clusters', name];
    problems.push(...crossReferenceProblems(cluster, base, problem));
    cluster.sources.forEach((source, index) => {
      // Bootstrap's GitRepository of this very repository: a second one would take its place.
      if (source.name === FLEET_REPOSITORY_RECEIVER) problems.push(problem([...base, 'sources', index, 'name'], `"${FLEET_REPOSITORY_RECEIVER}" is the GitRepository flux bootstrap makes for the fleet repository: choose another name${repository === undefined ? ' (and set repository: to have pushes to it reconcile at once)' : ''}`));
    });
    // Each Receiver's type, from its sources' hosts where the fleet does not say it.
    const receivers = cluster.receivers.map((receiver, index) => {
      const sources = receiver.sources.map((source) => cluster.sources.find((candidate) => candidate.name === source)).filter((source) => source !== undefined);
      const checked = receiverTypeProblems(receiver, sources);
      problems.push(...checked.problems.map(({ field, message }) => problem([...base, 'receivers', index, ...field], message)));
      if (repository?.receiver !== false && repository !== undefined && receiver.name === FLEET_REPOSITORY_RECEIVER) {
        problems.push(problem([...base, 'receivers', index, 'name'], `"${FLEET_REPOSITORY_RECEIVER}" is the Receiver of the fleet repository (repository:): choose another name`));
      }
      problems.push(...oidcReceiverProblems(receiver, sources).map(({ field, message }) => problem([...base, 'receivers', index, ...field], message)));
      return checked.type === undefined ? receiver : { ...receiver, type: checked.type };
    });
    const config = toClusterConfig(name, { ...cluster, receivers });
    return repository === undefined || repository.receiver === false ? config : { ...config, fleetRepository: repository };
  });
  problems.push(...sharedUrlProblems(clusters, problem));
  // A Receiver without oidc.audience has no such field to point at: its name, whose default clashes.
  problems.push(...oidcAudienceOwners(clusters).flatMap(({ cluster, index, audience, owner, byDefault }) => (byDefault
    ? problem(['clusters', cluster, 'receivers', index, 'name'], `its default audience "${audience}" is also the audience of ${owner}: a token for one would open both; give one of them its own oidc.audience`)
    : problem(
      ['clusters', cluster, 'receivers', index, 'oidc', 'audience'],
      `"${audience}" is also the audience of ${owner}: a token for one would open both; give each Receiver its own (or leave audience out for the default)`,
    ))));
  if (problems.length > 0) throw new FleetError(problems);
  return { fleet: repository === undefined ? { clusters } : { clusters, repository }, spans: clusterSpans(text, document) };
}

/** The start of the line `offset` is on, when only indentation stands before it there; otherwise undefined. */
function lineStartBefore(text: string, offset: number): number | undefined {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^ *$/.test(text.slice(start, offset)) ? start : undefined;
}

function clusterSpans(text: string, document: Document.Parsed): ClusterSpan[] | undefined {
  const top = document.contents as YAMLMap<Scalar, unknown>;
  const index = top.items.findIndex((pair) => String(pair.key?.value) === 'clusters');
  const clusters = top.items[index]?.value;
  if (!isMap(clusters) || clusters.flow) return undefined;
  let plain = true;
  visit(clusters, {
    Alias: () => {
      plain = false;
      return visit.BREAK;
    },
    Node: (_key, node) => {
      if ((node as { anchor?: string }).anchor !== undefined) {
        plain = false;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (!plain) return undefined;
  const next = top.items[index + 1];
  const nextKey = next?.key as YamlNode | null | undefined;
  const end = next === undefined ? text.length : nextKey?.range ? lineStartBefore(text, nextKey.range[0]) : undefined;
  const keyOffsets = clusters.items.map((pair) => (pair.key as YamlNode | null)?.range?.[0]);
  const starts = keyOffsets.map((offset) => (offset === undefined ? undefined : lineStartBefore(text, offset)));
  const names = clusters.items.map((pair) => String((pair.key as Scalar | null)?.value));
  if (end === undefined || starts.some((start) => start === undefined) || names.some((name) => /^\d+$/.test(name))) return undefined;
  return names.map((name, at) => ({ name, start: starts[at]!, end: starts[at + 1] ?? end, column: keyOffsets[at]! - starts[at]! }));
}

/** More aliases than this in one fleet file is an alias bomb, not a fleet. */
const MAX_ALIAS_COUNT = 1000;

/** A parser error or warning in the user's words. */
function yamlMessage(error: YAMLError, document: Document.Parsed): string {
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      let key: unknown;
      visit(document, {
        Pair: (_key, pair) => {
          if (isScalar(pair.key) && pair.key.range?.[0] === error.pos[0]) key = pair.key.value;
        },
      });
      return `key ${JSON.stringify(String(key))} is given twice in one mapping: keep one`;
    }
    case 'MULTIPLE_DOCS':
      return 'the fleet file holds more than one YAML document (a --- line): keep the whole fleet in one';
    case 'TAG_RESOLVE_FAILED':
      return `${error.message.split('\n')[0].replace('Unresolved tag:', 'unknown tag')}: the fleet file takes plain YAML, remove the tag`;
    default:
      return error.message.split('\n')[0];
  }
}

/** What the schema cannot see: keys that are not plain names, aliases without anchors, no mapping at the top. */
function structureProblems(document: Document.Parsed): { offset: number | undefined; message: string }[] {
  const problems: { offset: number | undefined; message: string }[] = [];
  if (document.contents !== null && !isMap(document.contents)) {
    problems.push({ offset: document.contents.range?.[0], message: 'the fleet file must be a mapping with clusters: at its top' });
  }
  visit(document, {
    Scalar: (_key, scalar) => {
      // Before anything copies or checks it: a value of megabytes is a mistake, never a fleet.
      const length = scalar.range === undefined || scalar.range === null ? 0 : scalar.range[1] - scalar.range[0];
      if (length > FLEET_VALUE_LIMIT_CHARS) {
        problems.push({ offset: scalar.range?.[0], message: `a value ${length} characters long, over the ${FLEET_VALUE_LIMIT_CHARS} one value may take: shorten it (a fleet value is a name, a URL, a path or a short text)` });
      }
    },
    Pair: (_key, pair) => {
      if (pair.key !== null && !isScalar(pair.key)) {
        problems.push({ offset: (pair.key as YamlNode).range?.[0], message: 'a key must be a plain name, not a list or a mapping' });
      }
    },
    Alias: (_key, alias) => {
      if (alias.resolve(document) === undefined) {
        problems.push({ offset: alias.range?.[0], message: `alias *${alias.source} names no anchor before it: define &${alias.source} first, or write the value out` });
      }
    },
  });
  return problems;
}

function firstAliasOffset(document: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(document, {
    Alias: (_key, alias) => {
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** The fields a mapping at `path` of the fleet file may have: its object schema's keys, found through arrays, records, unions and wrappers. */
function knownKeysAt(path: Path): string[] {
  const unwrap = (schema: z.ZodType): z.ZodType[] => {
    const def = (schema as any).def;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') return unwrap(def.innerType);
    if (def.type === 'pipe') return unwrap(def.out);
    if (def.type === 'union') return def.options.flatMap(unwrap);
    return [schema];
  };
  let schemas = unwrap(fleetSchema);
  for (const segment of path) {
    schemas = schemas.flatMap((schema) => {
      const def = (schema as any).def;
      if (def.type === 'object') return Object.hasOwn(def.shape, segment) ? unwrap(def.shape[segment]) : [];
      if (def.type === 'record') return unwrap(def.valueType);
      if (def.type === 'array') return unwrap(def.element);
      return [];
    });
  }
  return [...new Set(schemas.flatMap((schema) => ((schema as any).def.type === 'object' ? Object.keys((schema as any).def.shape) : [])))];
}

/** The known field `key` most likely misspells (case aside, at most a third of its letters off), if one does. */
function likelyField(key: string, known: string[]): string | undefined {
  const scored = known.map((field) => ({ field, distance: leven(key.toLowerCase(), field.toLowerCase()) }))
    .filter(({ distance }) => distance <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.distance - b.distance);
  return scored[0]?.field;
}

/**
 * The issues without what a misspelt field alone causes: the field it stands for reported missing
 * (`hostnme:` for a required `hostname:`), or the mapping's own complaint naming that field
 * (`nodeport:` makes the webhook "choose no exposure: add one of nodePort, ..."). That is the same
 * mistake, said once, by the misspelling's line.
 */
function withoutConsequences(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const meant = issues.flatMap((issue) => issue.code !== 'unrecognized_keys' ? [] : issue.keys.flatMap((key) => {
    const field = likelyField(key, knownKeysAt(issue.path as Path));
    return field === undefined ? [] : [{ at: JSON.stringify(issue.path), field }];
  }));
  const missing = (issue: z.core.$ZodIssue) => issue.code === 'invalid_type' && issue.input === undefined
    && meant.some(({ at, field }) => at === JSON.stringify(issue.path.slice(0, -1)) && issue.path.at(-1) === field);
  const namesIt = (issue: z.core.$ZodIssue) => issue.code === 'custom'
    && meant.some(({ at, field }) => at === JSON.stringify(issue.path) && new RegExp(`\\b${field}\\b`).test(issue.message));
  return issues.filter((issue) => !missing(issue) && !namesIt(issue));
}

function issueLines(issue: z.core.$ZodIssue, problem: (path: Path, message: string, target?: 'key' | 'value') => string): string[] {
  const path = issue.path as Path;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys.map((key) => {
        const field = likelyField(key, known);
        return problem([...path, key], `is not a known field: ${field === undefined ? 'check its spelling and place' : `did you mean ${field}?`} (see docs/fleet-file.md)`, 'key');
      });
    }
    case 'invalid_type':
      return [problem(path, issue.input === undefined ? `is required (${yamlWord(issue.expected)})` : `must be ${article(yamlWord(issue.expected))}, not ${JSON.stringify(issue.input)}`)];
    case 'invalid_key':
      return issue.issues.map((inner) => problem(path, inner.message, 'key'));
    case 'invalid_value':
      return [problem(path, `must be one of ${issue.values.map(String).join(', ')}, not ${JSON.stringify(issue.input)}`)];
    case 'invalid_union': {
      // A mapping where one choice is a mapping: its own mistakes say more than "none of the choices".
      const deeper = issue.errors.find((branch) => branch.every((inner) => inner.path.length > 0 || inner.code === 'unrecognized_keys'));
      return deeper === undefined
        ? [problem(path, issue.message)]
        : deeper.flatMap((inner) => issueLines({ ...inner, path: [...path, ...inner.path] } as z.core.$ZodIssue, problem));
    }
    case 'custom':
      return [problem(path, issue.message, issue.params === AT_KEY ? 'key' : 'value')];
    default:
      return [problem(path, issue.message)];
  }
}

/** The schema library's type names in YAML's words. */
function yamlWord(type: string): string {
  return ({ record: 'mapping', object: 'mapping', array: 'list' } as Record<string, string>)[type] ?? type;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function crossReferenceProblems(cluster: ClusterInput, base: Path, problem: (path: Path, message: string) => string): string[] {
  const problems: string[] = [];
  const namesOf = (list: { name: string }[], field: string): Set<string> => {
    const names = new Set<string>();
    list.forEach((item, index) => {
      if (names.has(item.name)) problems.push(problem([...base, field, index, 'name'], `"${item.name}" is used twice in ${field}; names must be unique within a cluster`));
      names.add(item.name);
    });
    return names;
  };
  const sources = namesOf(cluster.sources, 'sources');
  const apps = namesOf(cluster.apps, 'apps');
  namesOf(cluster.receivers, 'receivers');
  const mustExist = (names: Set<string>, kind: string, name: string, path: Path) => {
    const unknown = unknownReferenceProblem(kind, name, names);
    if (unknown) problems.push(problem(path, unknown));
  };
  cluster.apps.forEach((app, index) => {
    mustExist(sources, 'source', app.source, [...base, 'apps', index, 'source']);
    (app.dependsOn ?? []).forEach((dependency, position) => {
      const path = [...base, 'apps', index, 'dependsOn', position];
      if (dependency === app.name) problems.push(problem(path, 'an app cannot depend on itself'));
      else mustExist(apps, 'app', dependency, path);
    });
  });
  cluster.receivers.forEach((receiver, index) => {
    receiver.sources.forEach((source, position) => mustExist(sources, 'source', source, [...base, 'receivers', index, 'sources', position]));
  });
  const cycle = dependencyCycle(cluster.apps);
  if (cycle) {
    const index = cluster.apps.findIndex((app) => app.name === cycle[0]);
    problems.push(problem([...base, 'apps', index, 'dependsOn'], `forms a cycle: ${cycle.join(' -> ')}; Flux would never apply these apps`));
  }
  return problems;
}

/**
 * Two clusters whose Receivers would be reached at the same origin: the Git host could not tell
 * them apart, and `webhook github` for one would take over the other's hooks.
 */
export function sharedUrlProblems(clusters: readonly ClusterConfig[], problem: (path: Path, message: string) => string): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const cluster of clusters) {
    const receivedAt = receiverOrigin(cluster.webhook);
    if (receivedAt === undefined) continue;
    // Compared in canonical form: one address has several spellings.
    const key = canonicalOrigin(receivedAt.origin);
    const owner = owners.get(key);
    if (owner === undefined) {
      owners.set(key, cluster.name);
    } else {
      problems.push(problem(['clusters', cluster.name, 'webhook', ...receivedAt.field], `clusters ${owner} and ${cluster.name} both receive webhooks at ${key}: give each cluster its own address, port or hostname`));
    }
  }
  return problems;
}

function toClusterConfig(name: string, cluster: ClusterInput): ClusterConfig {
  // The schema let through exactly one exposure with only its own fields (exposureChoiceProblems).
  const webhook = cluster.webhook as WebhookExposureConfig;
  const sources: GitSourceConfig[] = cluster.sources;
  const apps: AppConfig[] = cluster.apps;
  const receivers: ReceiverConfig[] = cluster.receivers;
  const sops: SopsConfig | undefined = cluster.sops && { ageRecipients: cluster.sops.ageRecipients ?? [] };
  return { name, namespace: cluster.namespace, webhook, sources, apps, receivers, sops };
}

/** `clusters.staging.apps[0].path` */
export function formatPath(path: Path): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

/**
 * The source offset of `path`: its value, or with `target` 'key' its key. Where the path ends
 * before its last part (a required field that is missing), the key of the mapping that lacks it.
 */
function offsetOf(node: unknown, path: Path, target: 'key' | 'value' = 'value'): number | undefined {
  let current = node as YamlNode | null | undefined;
  let offset = current?.range?.[0];
  let keyOffset = offset;
  for (const [index, part] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(current)) {
      const pair = current.items.find((item) => isScalar(item.key) && item.key.value === part);
      if (!pair) return keyOffset;
      keyOffset = (pair.key as YamlNode).range?.[0];
      current = pair.value as YamlNode | null;
      offset = last && target === 'key' ? keyOffset : current?.range?.[0] ?? keyOffset;
    } else if (isSeq(current) && typeof part === 'number' && current.items[part] !== undefined) {
      current = current.items[part] as YamlNode;
      offset = current.range?.[0] ?? offset;
      keyOffset = offset;
    } else {
      return keyOffset;
    }
  }
  return offset;
}
