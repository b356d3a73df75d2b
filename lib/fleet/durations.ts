import { Duration } from 'cdk8s';

// The pattern the Flux CRDs put on every duration field (interval, timeout, retryInterval).
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MILLIS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const UNIT_NANOS: Record<string, bigint> = { ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
/** Go's time.Duration is an int64 of nanoseconds: 2562047h47m16.854775807s at most. */
const MAX_NANOS = 2n ** 63n - 1n;

/** Why `text` is not a duration Flux takes, or undefined; `minimum` in milliseconds. */
export function goDurationProblem(text: string, minimumMillis = 1): string | undefined {
  if (!GO_DURATION.test(text)) {
    return `"${text}" is not a duration: write a number and a unit (ms, s, m, h), e.g. 90s, 30m, 1h, 1h30m`;
  }
  let nanos = 0n;
  for (const [, amount, unit] of text.matchAll(PART)) {
    const [whole, fraction = ''] = amount.split('.');
    const scale = 10n ** BigInt(fraction.length);
    const fractionNanos = (BigInt(fraction || '0') * UNIT_NANOS[unit]);
    if (fractionNanos % scale !== 0n) return `"${text}" has a fraction below the millisecond: round it to whole milliseconds`;
    nanos += BigInt(whole) * UNIT_NANOS[unit] + fractionNanos / scale;
    if (nanos > MAX_NANOS) return `"${text}" is longer than Go's longest duration (2562047h47m16s): give a shorter one`;
  }
  if (nanos % 1_000_000n !== 0n) return `"${text}" has a fraction below the millisecond: round it to whole milliseconds`;
  if (nanos === 0n) return `"${text}" is zero: give a positive duration, e.g. 1m`;
  if (nanos < BigInt(minimumMillis) * 1_000_000n) {
    return `"${text}" is shorter than ${minimumMillis >= 1000 ? `${minimumMillis / 1000}s` : `${minimumMillis}ms`}: Flux would call the Git host that often; give at least that`;
  }
  return undefined;
}

/** Parses a Go duration as Flux accepts it (`1h`, `30m`, `1m30s`, `500ms`); throws, saying why, otherwise. */
export function parseGoDuration(text: string): Duration {
  const problem = goDurationProblem(text);
  if (problem) throw new Error(problem);
  let millis = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    millis += Number(amount) * UNIT_MILLIS[unit];
  }
  return Duration.millis(Math.round(millis));
}

/** Renders a duration the way Go prints short ones: `1h30m`, `90s` -> `1m30s`, `500ms`. */
export function toGoDuration(duration: Duration): string {
  let millis = duration.toMilliseconds();
  if (!Number.isInteger(millis) || millis <= 0) {
    throw new Error(`duration ${millis}ms must be a positive whole number of milliseconds`);
  }
  let text = '';
  for (const unit of ['h', 'm', 's'] as const) {
    const count = Math.floor(millis / UNIT_MILLIS[unit]);
    if (count > 0) {
      text += `${count}${unit}`;
      millis -= count * UNIT_MILLIS[unit];
    }
  }
  return millis > 0 ? `${text}${millis}ms` : text;
}
