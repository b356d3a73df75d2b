// The CEL filters of a Receiver: for each source, an expression over the delivery's body that is
// true only for a push of the source's ref to its repository (lib/hosts/<host>.ts knows the
// payload), so that a push to one branch or repository does not make every source fetch.
import { GitSourceConfig, ReceiverType } from '../fleet/model';
import { refMatchOf, sourceHost } from './index';

/**
 * Each source's filter, by source name: undefined where there is none (filters turned off, a generic
 * or generic-hmac Receiver whose payload shape is unknown, a host the type does not check, an
 * installation or URL whose payload this project does not know).
 */
export function receiverFilters(receiver: { readonly type?: `${ReceiverType}`; readonly filter?: boolean }, type: `${ReceiverType}`, sources: readonly GitSourceConfig[]): Map<string, string | undefined> {
  return new Map(sources.map((source) => {
    const host = sourceHost(source, type);
    if (receiver.filter === false || host === undefined || host.receiverType !== type) return [source.name, undefined];
    let repository;
    try {
      repository = host.repositoryOf(source.url);
    } catch {
      // A URL that names no owner/name (https://git.example.org/repo): its payload cannot be matched.
      return [source.name, undefined];
    }
    return [source.name, host.knows?.(repository) === false ? undefined : host.pushFilter(repository, refMatchOf(source))];
  }));
}

/** JSON as CEL sees it in notification-controller (objects as maps; numbers as doubles, as Go decodes JSON). */
function celValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(celValue);
  if (value !== null && typeof value === 'object') return new Map(Object.entries(value).map(([key, item]) => [key, celValue(item)]));
  return value;
}

/**
 * What notification-controller decides with `filter` for a delivery's body: true (reconcile), false
 * (skip), or the evaluation error that makes it answer 500. A non-JSON body is an empty map to it.
 */
export async function evaluateFilter(filter: string, body: string): Promise<boolean | Error> {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    request = {};
  }
  return evaluateBoolean(filter, { req: request });
}

/**
 * A boolean CEL expression over JSON variables (`req`, or a token's `claims`), as the controller
 * evaluates it: true, false, or the evaluation error (which it treats as a failure).
 */
export async function evaluateBoolean(expression: string, variables: Record<string, unknown>): Promise<boolean | Error> {
  // Loaded only by the tools that evaluate: synth writes expressions and never runs them.
  const { run, isCelError } = await import('@bufbuild/cel');
  const bindings = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, celValue(value)]));
  const result = run(expression, bindings as never);
  if (isCelError(result)) return new Error(result.message);
  return typeof result === 'boolean' ? result : new Error(`the expression returned ${String(result)}, not a bool`);
}
