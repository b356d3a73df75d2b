import { Duration } from 'cdk8s';

// The pattern the Flux CRDs put on every duration field (interval, timeout, retryInterval).
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MILLIS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration as Flux accepts it (`1h`, `30m`, `1m30s`, `500ms`); throws otherwise. */
export function parseGoDuration(text: string): Duration {
  if (!GO_DURATION.test(text)) {
    throw new Error(`"${text}" is not a duration: write a number and a unit (ms, s, m, h), e.g. 90s, 30m, 1h, 1h30m`);
  }
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
