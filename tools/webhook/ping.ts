// `webhook ping <cluster>`: a delivery signed exactly as the Git host signs it, and its answer in words.

import { realpathSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Agent, fetch } from 'undici';
import { CommandContext, CommandError, UsageError } from '../common';
import { ContextOptions, receiverTargets, requireTokenFor, requireUrl } from './context';
import { DeliveryEvent, fullName, gitHost, gitHostForType, knownGitHosts, receiverEventsOf, refMatchOf, SignedDelivery, sourceHost, testRefOf } from '../../lib/hosts';
import { evaluateFilter, receiverFilters } from '../../lib/hosts/filters';
import { genericHmacHeaders } from '../../lib/hosts/generic-hmac';
import { ClusterConfig, GIT_HOST_KINDS, GitSourceConfig, ReceiverType, receiverTypeOf } from '../../lib/fleet/model';
import { DeliveryHints, exposureOf } from '../../lib/constructs/exposures';
import { WebhookReceiverService } from '../../lib/constructs/webhook-receiver-service';
import { checkedTimeout, PING_TIMEOUT_MS, readPrefix } from './bounded-fetch';
import { readRegularFile } from '../../lib/io/safe-read';
import { redact } from '../redact';

/** notification-controller refuses bodies over this with 413. */
export const RECEIVER_BODY_LIMIT = 3 * 1024 * 1024;

export { DeliveryEvent } from '../../lib/hosts';

/** How a delivery went, as notification-controller's answer means it. */
export interface DeliveryOutcome {
  readonly accepted: boolean;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
  /** One line: what happened and what to check. */
  readonly explanation: string;
}

/** What a Receiver of `type` compares, for a 400: its host's check, or generic-hmac's. */
function checkedBy(type: `${ReceiverType}`): string {
  return type === ReceiverType.GENERIC_HMAC ? 'the signature (X-Signature)' : gitHostForType(type)?.checked ?? 'its check';
}

/** What a TLS server says to a plain-HTTP request (Go's net/http, nginx), in the body of its 400. */
const PLAIN_HTTP_TO_HTTPS = /HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port/i;

/** What Envoy (most Gateways), nginx and Traefik say in a 503 of their own, not notification-controller's. */
const PROXY_UNAVAILABLE = /no healthy upstream|upstream connect error|Service Unavailable<\/title>|no available server/i;

/** An answer, as much of it as explaining it needs. */
export interface Answer {
  readonly status: number;
  readonly location: string | null;
  readonly body: string;
  /**
   * Where it came from and the headers that tell notification-controller from another server; only
   * for an answer ping saw itself (GitHub's records of deliveries keep none of it).
   */
  readonly seen?: { readonly origin: string; readonly server: string | null; readonly contentType: string | null; readonly proxied: boolean };
}

/**
 * What in an answer notification-controller never sends, or undefined when it has the controller's
 * shape. Its receiver server answers every delivery with a status alone (WriteHeader, no body), from
 * Go's net/http: no Server header, no Content-Type (test/e2e/receivers.e2e.ts checks this against
 * the real controller). A proxy in front (a gateway, an ingress, a TLS load balancer, or whatever
 * --url goes through) may add its own Server header, so there that header alone proves nothing.
 */
export function foreignAnswer(answer: Answer): { readonly reason: string; readonly certain: boolean } | undefined {
  const { seen } = answer;
  if (seen === undefined) return undefined;
  const body = answer.body.replace(/\s+/g, ' ').trim();
  if (body !== '') return { reason: `it has a body, "${redact(body.length > 80 ? `${body.slice(0, 80)}...` : body)}"`, certain: true };
  if (seen.server !== null) return { reason: `its Server header says "${redact(seen.server.slice(0, 80))}"`, certain: !seen.proxied };
  if (seen.contentType !== null) return { reason: `it has a Content-Type (${redact(seen.contentType.slice(0, 80))})`, certain: !seen.proxied };
  return undefined;
}

/** The words for an answer that is not notification-controller's: what was seen, and what it usually means. */
function explainForeign(answer: Answer, foreign: { reason: string }, receiver: string, type: `${ReceiverType}`, hints: DeliveryHints): DeliveryOutcome {
  const seen = `HTTP ${answer.status} from ${answer.seen!.origin}, which is not notification-controller's answer (${foreign.reason}; the controller answers with a status alone)`;
  const meaning = answer.status >= 200 && answer.status < 300
    ? `a Receiver answers ${answer.status === 200 ? '200' : 'no 2xx but 200'} only once ${checkedBy(type)} checks out, but this server may answer so to anything: nothing shows that Receiver ${receiver} got the delivery`
    : answer.status === 404
    ? 'the delivery did not reach a Receiver, so this says nothing about the token: another server answers at that address, or a proxy has no route for the path'
    : 'the delivery did not reach a Receiver: another server answers at that address, or a proxy in front answered itself';
  return { accepted: false, status: answer.status, explanation: `${seen}: ${meaning}; ${hints.notReceiver}` };
}

/**
 * A 400: the token (signature) or an event the Receiver does not list. With the events the fleet
 * file gives the Receiver, which one is known: the real controller answers both with a bare 400.
 */
function explainRejected(eventName: string, type: `${ReceiverType}`, events: readonly string[] | undefined): string {
  const signature = `${checkedBy(type)} does not match (the cluster's webhook-token Secret holds another token than this one)`;
  // generic-hmac and generic Receivers check no event.
  if (type === ReceiverType.GENERIC_HMAC || type === ReceiverType.GENERIC) return `rejected (400): ${signature}`;
  if (events === undefined) return `rejected (400): ${signature}, or the event "${eventName}" is not in the Receiver's events`;
  if (events.length > 0 && !events.some((event) => event.toLowerCase() === eventName.toLowerCase())) {
    return `rejected (400): the event "${eventName}" is not in the Receiver's events (${events.join(', ')}): add it to the Receiver's events in the fleet file if it should be taken`;
  }
  return `rejected (400): ${signature}; the event "${eventName}" is one the fleet file's Receiver takes, unless the Receiver in the cluster is older than dist/ (kubectl get receiver -o yaml shows its events)`;
}

/**
 * A call without an ID token to a generic-oidc Receiver: ping cannot mint a CI job's token, so the
 * most it can see is that a Receiver is at the path and refuses such a call (the controller's bare
 * 400). It never says more: whether the CI job's token passes shows only when the job runs.
 */
function explainOidcProbe(status: number, receiver: string, through: string, hints: DeliveryHints): DeliveryOutcome {
  const cannot = 'ping cannot mint a CI ID token, so whether the CI job\'s token passes the validations shows only when it runs: push to a source\'s branch (or re-run its job) and read the job\'s log';
  switch (status) {
    case 400:
      return { accepted: true, status, explanation: `answers${through}: a Receiver is at the path and refused a call without an ID token (400), as Receiver ${receiver} (generic-oidc) must; ${cannot}` };
    case 404:
      return { accepted: false, status, explanation: `no Receiver at that path (404)${through}: Receiver ${receiver} is not applied yet, or its name or namespace differs from the fleet file's; ${hints.notFound}` };
    case 503:
      return { accepted: false, status, explanation: `Receiver ${receiver} is not ready or is suspended (503): kubectl describe receiver ${receiver} says why (its oidcProviders, or a controller older than 1.9 that knows no generic-oidc)` };
    default:
      return { accepted: false, status, explanation: `answered ${status} to a call without an ID token${through}, which a generic-oidc Receiver never does (it answers 400): the path is served by something else, or the Receiver in the cluster is not the fleet file's (kubectl get receiver ${receiver} -o yaml); ${hints.notReceiver}` };
  }
}

/** What each of notification-controller's answers means for the person debugging it (deliveries reads it for GitHub's records too). */
export function explainStatus(answer: Answer, eventName: string, type: `${ReceiverType}`, receiver: string, resources: string, hints: DeliveryHints, reconciling = resources, events?: readonly string[]): DeliveryOutcome {
  const { status, location, body } = answer;
  if (status === 400 && PLAIN_HTTP_TO_HTTPS.test(body)) {
    return { accepted: false, status, explanation: 'rejected (400) by a TLS server that was sent plain HTTP: this port serves HTTPS, so the URL must start with https:// (webhook.loadBalancer.tls, or tls of the gateway or ingress)' };
  }
  if (hints.proxyFailure !== undefined && ([502, 504].includes(status) || (status === 503 && PROXY_UNAVAILABLE.test(body)))) {
    return { accepted: false, status, explanation: `the proxy in front answered ${status} itself: ${hints.proxyFailure}` };
  }
  if ([301, 302, 303, 307, 308].includes(status)) {
    return { accepted: false, status, explanation: `redirected (${status}) to ${location ?? 'an unnamed place'}: Git hosts do not follow redirects, so the delivery ends here; make the Payload URL the one redirected to (typically https:// where an ingress or gateway redirects HTTP)` };
  }
  const foreign = foreignAnswer(answer);
  // For generic-oidc a 400 is the pass: only the controller's bare one counts, whatever a proxy may add.
  if (foreign?.certain || (foreign !== undefined && type === ReceiverType.GENERIC_OIDC && status === 400)) return explainForeign(answer, foreign, receiver, type, hints);
  // Through a proxy that names itself, the answer may be the controller's or the proxy's own: said as seen.
  const through = foreign === undefined ? '' : ` (HTTP ${status} from ${answer.seen!.origin}; ${foreign.reason}: a proxy in front, or a server that is not notification-controller)`;
  if (type === ReceiverType.GENERIC_OIDC) return explainOidcProbe(status, receiver, through, hints);
  switch (status) {
    case 200:
      return {
        accepted: true,
        status,
        explanation: `accepted${through}: ${through ? 'as notification-controller answers when ' : ''}Receiver ${receiver} checked ${checkedBy(type).replace(/ \(.*\)$/, '')}${reconciling === '' ? '; its filters reconcile none of its sources for this delivery' : ` and asked ${reconciling} to reconcile`}`,
      };
    case 400:
      return { accepted: false, status, explanation: `${explainRejected(eventName, type, events)}${through}` };
    case 404:
      return { accepted: false, status, explanation: `no Receiver at that path (404)${through}: the token in the cluster differs from the local one (the path is derived from it), the receiver name or namespace differs, or the Receiver has not reconciled yet; ${hints.notFound}${through ? '; or the proxy has no route for the path' : ''}` };
    case 413:
      return { accepted: false, status, explanation: 'rejected (413): the body is over notification-controller\'s 3 MiB limit' };
    case 500:
      return { accepted: false, status, explanation: `the Receiver could not annotate a resource (500): one of ${resources} does not exist in the cluster${hints.proxyFailure ? `; or the proxy in front failed: ${hints.proxyFailure}` : ''}` };
    case 503:
      return { accepted: false, status, explanation: `Receiver ${receiver} is not ready or is suspended (503): usually its Secret webhook-token is missing in the cluster (apply it, or check that Flux decrypts it)${hints.proxyFailure ? `; or the proxy in front answered: ${hints.proxyFailure}` : ''}` };
    default:
      return { accepted: false, status, explanation: `answer ${status} is none of a Receiver's: the URL probably reached notification-controller's events server (Service notification-controller) instead of Service ${WebhookReceiverService.SERVICE_NAME}; ${hints.notReceiver}` };
  }
}

/** OpenSSL's verification errors that mean: no trusted CA signed this chain. */
const UNKNOWN_CA = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']);

/** A TLS failure in words, or undefined when the error is not about TLS. */
function explainTls(code: string | undefined, message: string, host: string, caFile: string | undefined): string | undefined {
  if (code !== undefined && UNKNOWN_CA.has(code)) {
    return `the certificate of ${host} is not signed by a CA this machine trusts (${code}): ${caFile === undefined ? 'for a private CA, pass it with --ca-file; ' : `${caFile} did not sign it either; `}the Git host must trust it too, or it refuses to deliver`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the certificate of ${host} is not for that name (${message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')}): the Gateway listener or the Ingress serves another host's certificate; check its TLS Secret`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `the certificate of ${host} has expired: renew it (cert-manager: kubectl describe certificate) — the Git host refuses it too`;
  if (code === 'CERT_NOT_YET_VALID') return `the certificate of ${host} is not valid yet: check this machine's clock, or the certificate's start date`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message)) {
    return `${host} answered an https:// URL in plain HTTP: that port serves no TLS, so make the URL http:// or have the load balancer, gateway or ingress terminate TLS there`;
  }
  return undefined;
}

function explainFailure(error: any, url: string, timeoutMs: number, urlSource: string, hints: DeliveryHints, caFile: string | undefined): DeliveryOutcome {
  const { host, protocol } = new URL(url);
  const code = error?.cause?.code ?? error?.code;
  const tls = explainTls(code, String(error?.cause?.message ?? error?.message ?? ''), host, caFile);
  if (tls) return { accepted: false, explanation: tls };
  if (protocol === 'http:' && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'HPE_INVALID_CONSTANT')) {
    return { accepted: false, explanation: `${host} closed the connection without an answer to plain HTTP: if that port serves HTTPS, the URL must start with https://` };
  }
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { accepted: false, explanation: `no answer from ${host} within ${timeoutMs / 1000}s: ${hints.noAnswer}` };
  }
  if (code === 'ECONNREFUSED') {
    return { accepted: false, explanation: `connection refused by ${host}: ${hints.refused}` };
  }
  if (error?.cause?.message === 'bad port') {
    return { accepted: false, explanation: `port ${new URL(url).port} is on the list of ports fetch refuses to call: a NodePort (30000-32767) never is, so check the URL` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { accepted: false, explanation: `cannot resolve ${host}: give the name a DNS record that leads to the cluster, or fix ${urlSource}` };
  }
  return { accepted: false, explanation: `the delivery to ${host} failed: ${error?.cause?.message ?? error?.message ?? error}` };
}

export interface DeliveryRequest {
  readonly url: string;
  readonly event: DeliveryEvent;
  /** The body and headers, signed as the Git host signs them. */
  readonly delivery: SignedDelivery;
  /** @default PING_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** For messages: where the URL's host came from. @default "the fleet file's webhook block" */
  readonly urlSource?: string;
  /** What to check on each failure, from the cluster's exposure. */
  readonly hints: DeliveryHints;
  /** PEM certificates of the CAs to trust instead of the system's, and the file they came from. @default - the system's CAs */
  readonly ca?: { readonly pem: string; readonly file: string };
  /** For messages: the Receiver, its type and what it reconciles. */
  readonly receiver: string;
  readonly type: `${ReceiverType}`;
  readonly resources: string;
  /** Those the Receiver's filters reconcile for this body (empty: none). @default resources */
  readonly reconciling?: string;
  /** The events the fleet file gives the Receiver, to tell a 400's two causes apart. @default - unknown */
  readonly events?: readonly string[];
  /** Whether the URL may go through a proxy or tunnel the exposure does not know (--url), which may name itself in a Server header. @default false */
  readonly proxied?: boolean;
}

/** Sends one signed delivery and explains the answer. */
export async function sendDelivery(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const { body, headers } = request.delivery;
  if (Buffer.byteLength(body) > RECEIVER_BODY_LIMIT) {
    return { accepted: false, explanation: 'the body is over notification-controller\'s 3 MiB limit; it would get 413' };
  }
  const timeoutMs = request.timeoutMs ?? PING_TIMEOUT_MS;
  // Certificates are always verified; --ca-file only changes whom to trust.
  const dispatcher = request.ca === undefined ? undefined : new Agent({ connect: { ca: request.ca.pem } });
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher,
    });
    // A Receiver's answers are short; a 400's body may say why (plain HTTP to an HTTPS port). The rest, if any, is not read.
    const answer = await readPrefix(response, 1024);
    const eventName = headers['X-GitHub-Event'] ?? headers['X-Gitlab-Event'] ?? headers['X-Event-Key'] ?? request.event;
    const seen = { origin: new URL(request.url).origin, server: response.headers.get('server'), contentType: response.headers.get('content-type'), proxied: request.proxied === true || request.hints.proxyFailure !== undefined };
    return explainStatus({ status: response.status, location: response.headers.get('location'), body: answer, seen }, eventName, request.type, request.receiver, request.resources, request.hints, request.reconciling, request.events);
  } catch (error) {
    return explainFailure(error, request.url, timeoutMs, request.urlSource ?? 'the fleet file\'s webhook block', request.hints, request.ca?.file);
  } finally {
    await dispatcher?.close();
  }
}

/** A CA bundle is a few hundred KiB (the system's whole bundle included). */
const CA_FILE_LIMIT_BYTES = 4 * 1024 * 1024;

/** The CA certificates of a --ca-file, checked to be PEM certificates, or a UsageError naming the file. */
export function readCaFile(file: string): { pem: string; file: string } {
  let pem: string | undefined;
  try {
    // The user names this file, and system CA bundles are often links: the link is followed on
    // purpose, but a FIFO or device at its end is refused rather than read (it would hang ping).
    pem = readRegularFile(realpathSync(file), { what: `--ca-file ${file}`, maxBytes: CA_FILE_LIMIT_BYTES });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === undefined ? (error as Error).message : `--ca-file ${file}: cannot read it (${code})`);
  }
  if (pem === undefined) throw new UsageError(`--ca-file ${file}: cannot read it (ENOENT)`);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`--ca-file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate, not its key`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new UsageError(`--ca-file ${file} holds a certificate that cannot be read: ${(error as Error).message}`);
    }
  }
  return { pem, file };
}

export interface PingOptions extends ContextOptions {
  readonly receiver?: string;
  /** @default the host's own test delivery: ping for GitHub, a push for the others */
  readonly event?: DeliveryEvent;
  /** The ref a push delivery names (refs/heads/... or refs/tags/...). @default the source's branch or tag */
  readonly ref?: string;
  /**
   * Send here instead of the fleet file's address (e.g. through a tunnel or port-forward). Without
   * a path, the Receiver's path is appended; with one, it is used as it is.
   */
  readonly url?: string;
  readonly timeoutMs?: number;
  /** A PEM file of CA certificates to trust instead of the system's (a private CA). */
  readonly caFile?: string;
}

function overrideUrl(override: string, path: string): string {
  let parsed: URL;
  try {
    parsed = new URL(override);
  } catch {
    throw new UsageError(`--url "${override}" is not a URL: give e.g. http://127.0.0.1:9292`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url "${override}" must be http:// or https://`);
  return parsed.pathname === '/' && !override.endsWith('/') ? `${override}${path}` : parsed.pathname === '/' ? `${override.replace(/\/$/, '')}${path}` : override;
}

/** The Receiver types that take any host's body: generic-hmac signs it in X-Signature, generic checks nothing. */
const ANY_SENDER: readonly `${ReceiverType}`[] = [ReceiverType.GENERIC_HMAC, ReceiverType.GENERIC];
/** The Receiver types ping can send as: each Git host's, and those. */
const SIGNABLE: readonly `${ReceiverType}`[] = [...new Set([...GIT_HOST_KINDS.map((kind) => gitHost(kind).receiverType), ...ANY_SENDER])];

/** A delivery as the source's host sends it, signed as the Receiver's type checks it. */
async function deliveryFor(type: `${ReceiverType}`, source: GitSourceConfig, event: DeliveryEvent, ref: string, url: string, token: string, receiver: string): Promise<SignedDelivery> {
  // A generic or generic-hmac Receiver's sender may be any host: the source's own, or GitHub's shape.
  const host = sourceHost(source, type) ?? gitHost('github');
  if (!SIGNABLE.includes(type) || (!ANY_SENDER.includes(type) && host.receiverType !== type)) {
    throw new CommandError(`Receiver ${receiver} is of type ${type}, and ping sends deliveries only as ${knownGitHosts()} (and generic, generic-hmac) do`);
  }
  if (!host.testEvents.includes(event)) {
    throw new UsageError(`${host.name} sends no ${event} event (source ${source.name}): use --event ${host.testEvents[0]}`);
  }
  const repository = host.repositoryOf(source.url);
  const delivery = await host.delivery(event, repository, ref, url, token);
  if (type === ReceiverType.GENERIC_HMAC) return { body: delivery.body, headers: genericHmacHeaders(delivery.body, token) };
  // A generic Receiver checks nothing: the path is its only secret.
  if (type === ReceiverType.GENERIC) return { body: delivery.body, headers: { 'Content-Type': 'application/json' } };
  return delivery;
}

/** What the Receiver's filters decide for a body: the sources it reconciles and those it skips, or the error that makes it 500. */
async function filtered(sources: readonly GitSourceConfig[], filters: Map<string, string | undefined>, body: string): Promise<{ reconciled: string[]; skipped: string[]; error?: string }> {
  const reconciled: string[] = [];
  const skipped: string[] = [];
  for (const source of sources) {
    const filter = filters.get(source.name);
    const decision = filter === undefined ? true : await evaluateFilter(filter, body);
    if (decision instanceof Error) return { reconciled, skipped, error: `the filter of ${source.name} fails on this body (${decision.message}), so notification-controller answers 500` };
    (decision ? reconciled : skipped).push(source.name);
  }
  return { reconciled, skipped };
}

/** Where a delivery went, for a Receiver that gets more than one (a push of each source's own ref). */
export interface DeliveredRef {
  readonly repository: string;
  readonly ref: string;
}

export type PingOutcome = DeliveryOutcome & { receiver: string; url: string; reconciled?: string[]; skipped?: string[]; delivered?: DeliveredRef };

/**
 * The sources a Receiver's deliveries are made for: one, unless a push is sent without --ref, which
 * goes once for each repository and ref among its sources (each source's own ref), so that a Receiver
 * of two branches is tried with both. A pinned source takes no push: it gets none unless all are.
 */
function deliverySources(sources: readonly GitSourceConfig[], event: DeliveryEvent, ref: string | undefined): GitSourceConfig[] {
  if (event !== 'push' || ref !== undefined) return [sources[0]];
  const pushable = sources.filter((source) => refMatchOf(source).kind !== 'none');
  const chosen = new Map<string, GitSourceConfig>();
  for (const source of pushable.length === 0 ? [sources[0]] : pushable) {
    const key = `${source.url.toLowerCase().replace(/(\.git)?\/*$/, '')} ${testRefOf(source)}`;
    if (!chosen.has(key)) chosen.set(key, source);
  }
  return [...chosen.values()];
}

/** Sends a test delivery to each of the cluster's Receivers (or the one named). */
export async function ping(clusterName: string, options: PingOptions = {}): Promise<PingOutcome[]> {
  if (options.timeoutMs !== undefined) checkedTimeout(options.timeoutMs);
  const ca = options.caFile === undefined ? undefined : readCaFile(options.caFile);
  if (options.ref !== undefined && !/^refs\/(heads|tags)\/./.test(options.ref)) throw new UsageError(`--ref "${options.ref}" must be refs/heads/<branch> or refs/tags/<tag>`);
  const context = CommandContext.of(options);
  const fleetFile = context.paths.fleetFile;
  const cluster: ClusterConfig = context.cluster(clusterName);
  const token = (await requireTokenFor(cluster, options.receiver, { context }))?.token;
  const outcomes: PingOutcome[] = [];
  for (const target of receiverTargets(cluster, token, options.receiver)) {
    const url = options.url === undefined ? requireUrl(cluster, target, fleetFile) : overrideUrl(options.url, target.path);
    if (target.sources.length === 0) throw new CommandError(`receiver ${target.receiver.name} names no source of ${cluster.name}`);
    const type = receiverTypeOf(target.receiver);
    // What every delivery to this Receiver shares.
    const sending = {
      url, ca, timeoutMs: options.timeoutMs, urlSource: options.url === undefined ? undefined : '--url',
      type, hints: exposureOf(cluster.webhook).deliveryHints(target.namespace), receiver: target.receiver.name,
      resources: gitRepositories(target.sources.map(({ name }) => name)), proxied: options.url !== undefined,
    };
    if (type === ReceiverType.GENERIC_OIDC) {
      // No bearer: the one call ping can make to it, and what its answer shows (explainOidcProbe).
      const outcome = await sendDelivery({ ...sending, event: 'push', delivery: { body: '{}', headers: { 'Content-Type': 'application/json' } }, events: [] });
      outcomes.push({ ...outcome, receiver: target.receiver.name, url });
      continue;
    }
    // A token-based Receiver: requireTokenFor read the token for it.
    const tokenOf = token!;
    const event = options.event ?? (sourceHost(target.sources[0], type) ?? gitHost('github')).testEvents[0];
    const chosen = deliverySources(target.sources, event, options.ref);
    for (const source of chosen) {
      const ref = options.ref ?? testRefOf(source);
      const delivery = await deliveryFor(type, source, event, ref, url, tokenOf, target.receiver.name);
      const decided = await filtered(target.sources, receiverFilters(target.receiver, type, target.sources), delivery.body);
      const outcome = await sendDelivery({ ...sending, event, delivery, reconciling: gitRepositories(decided.reconciled), events: receiverEventsOf(type, target.receiver.events) });
      const sent = { repository: repositoryWords(source, type), ref };
      const refusals = event === 'push' ? decided.skipped.map((name) => refusal(target.sources.find((candidate) => candidate.name === name)!, type, sent)) : [];
      outcomes.push({
        ...withFilters(outcome, decided, refusals),
        receiver: target.receiver.name, url, reconciled: decided.reconciled, skipped: decided.skipped,
        ...(chosen.length > 1 ? { delivered: sent } : {}),
      });
    }
  }
  return outcomes;
}

function gitRepositories(names: readonly string[]): string {
  return names.map((name) => `GitRepository ${name}`).join(', ');
}

/** owner/name of a source's repository as its host's payload names it, or its URL where it names none. */
function repositoryWords(source: GitSourceConfig, type: `${ReceiverType}`): string {
  try {
    return fullName((sourceHost(source, type) ?? gitHost('github')).repositoryOf(source.url));
  } catch {
    return source.url;
  }
}

/** Why a source's filter refused a push of `sent`: what it wants against what the delivery named. */
function refusal(source: GitSourceConfig, type: `${ReceiverType}`, sent: DeliveredRef): string {
  const match = refMatchOf(source);
  const name = `GitRepository ${source.name}`;
  if (match.kind === 'none') return `${name} pins commit ${source.commit}: no push reconciles it`;
  const wanted = repositoryWords(source, type);
  if (wanted.toLowerCase() !== sent.repository.toLowerCase()) return `the filter of ${name} wants pushes to ${wanted}, the delivery came from ${sent.repository}`;
  if (match.kind === 'anyTag') {
    return sent.ref.startsWith('refs/tags/') ? `the filter of ${name} is false for this body` : `the filter of ${name} wants a tag (semver ${source.semver}), the delivery pushed ${sent.ref}`;
  }
  const wantedRef = testRefOf(source);
  if (wantedRef !== sent.ref) {
    return `the filter of ${name} wants ${match.kind} ${match.name} (${wantedRef}), the delivery pushed ${sent.ref}: if ${sent.ref.replace(/^refs\/(heads|tags)\//, '')} is what you push to, set ${match.kind}: ${sent.ref.replace(/^refs\/(heads|tags)\//, '')} for source ${source.name} in the fleet file (npm run webhook -- doctor --online checks that each ref exists)`;
  }
  return `the filter of ${name} is false for this body`;
}

/**
 * An answer's explanation, with what the Receiver's filters made of the body: the sources they skip,
 * or the 500 they cause. A push that reconciles none of the sources is a failure: it is the silent
 * no-op of a wrong branch, and `refusals` says which filter refused and why.
 */
function withFilters(outcome: DeliveryOutcome, decided: { reconciled: string[]; skipped: string[]; error?: string }, refusals: readonly string[]): DeliveryOutcome {
  // The controller's 500 for a filter that fails on the body is this, not a missing resource.
  if (outcome.status === 500 && decided.error) return { ...outcome, explanation: `the Receiver answered 500: ${decided.error}` };
  if (!outcome.accepted) return outcome;
  if (decided.error) return { ...outcome, explanation: `${outcome.explanation}; but ${decided.error}` };
  if (decided.skipped.length === 0) return outcome;
  const skipped = gitRepositories(decided.skipped);
  if (decided.reconciled.length === 0 && refusals.length > 0) {
    const taken = outcome.explanation.replace(/^accepted/, `answered ${outcome.status}`).replace(/; its filters reconcile none of its sources for this delivery$/, '');
    return { ...outcome, accepted: false, explanation: `this push reconciles nothing: ${taken}, but its filters refuse every source: ${refusals.join('; ')}` };
  }
  return { ...outcome, explanation: decided.reconciled.length === 0 ? `${outcome.explanation} (skipped: ${skipped})` : `${outcome.explanation}; its filters skip ${skipped}` };
}
