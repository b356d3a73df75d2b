// How go-yaml v3 (which sops parses YAML with) reads a scalar, and the bytes sops hashes for it
// into the MAC (`ToBytes` in sops.go). Only what a Kubernetes manifest can hold: strings,
// null, bools, ints, floats and timestamps.
import { Scalar } from 'yaml';

export type GoYamlType = 'str' | 'int' | 'float' | 'bool' | 'time';

/** A non-null scalar as go-yaml types it, with the bytes sops encrypts and hashes for it. */
export interface GoYamlValue {
  readonly type: GoYamlType;
  readonly bytes: string;
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const INFINITIES = new Set(['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']);
const NEGATIVE_INFINITIES = new Set(['-.inf', '-.Inf', '-.INF']);
const NANS = new Set(['.nan', '.NaN', '.NAN']);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The go-yaml reading of a scalar parsed with the `failsafe` schema (so `value` is its text).
 * Quoted and block scalars are always strings; plain ones resolve to null, bool, int, float,
 * timestamp or string. Returns undefined for null.
 */
export function goYamlValue(scalar: Scalar): GoYamlValue | undefined {
  const text = String(scalar.value);
  if (scalar.type !== Scalar.PLAIN && scalar.type !== undefined) {
    return { type: 'str', bytes: text };
  }
  if (NULLS.has(text)) return undefined;
  if (TRUES.has(text)) return { type: 'bool', bytes: 'True' };
  if (FALSES.has(text)) return { type: 'bool', bytes: 'False' };
  if (INFINITIES.has(text)) return { type: 'float', bytes: '+Inf' };
  if (NEGATIVE_INFINITIES.has(text)) return { type: 'float', bytes: '-Inf' };
  if (NANS.has(text)) return { type: 'float', bytes: 'NaN' };
  if (/^[-+0-9.]/.test(text)) {
    const time = goTimestamp(text);
    if (time !== undefined) return { type: 'time', bytes: time };
    const int = goInt(text.replace(/_/g, ''));
    if (int !== undefined) {
      if (int < INT64_MIN || int > INT64_MAX) {
        throw new Error(`the number ${text} does not fit in 64 bits; sops cannot encrypt it: quote it`);
      }
      return { type: 'int', bytes: int.toString() };
    }
    if (YAML_FLOAT.test(text.replace(/_/g, ''))) {
      return { type: 'float', bytes: goFloat(Number(text.replace(/_/g, ''))) };
    }
  }
  return { type: 'str', bytes: text };
}

/** strconv.ParseInt(s, 0, 64) accepting also what ParseUint would: sign, 0x, 0o, 0b, legacy 0-octal. */
function goInt(text: string): bigint | undefined {
  const match = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!match) return undefined;
  const [, sign, digits] = match;
  let magnitude: bigint;
  if (/^0[oO]/.test(digits)) magnitude = BigInt(`0o${digits.slice(2)}`);
  else if (/^0[0-7]+$/.test(digits)) magnitude = BigInt(`0o${digits.slice(1)}`);
  else magnitude = BigInt(digits);
  return sign === '-' ? -magnitude : magnitude;
}

/** strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that round-trip, never an exponent. */
export function goFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const [mantissa, exponentText] = Math.abs(value).toString().split('e');
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  if (exponentText === undefined) return sign + mantissa;
  const exponent = Number(exponentText);
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * go-yaml's implicit timestamps (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`
 * or a space and no zone), rendered as Go's time.MarshalText (RFC 3339 with trimmed nanoseconds).
 */
function goTimestamp(text: string): string | undefined {
  if (!/^[0-9]{4}-/.test(text)) return undefined;
  const match = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:([Tt])|( ))([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,9}))?(Z|[-+][0-9]{2}:[0-9]{2})?)?$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, tee, space, hour = '0', minute = '0', second = '0', fraction = '', zone] = match;
  if ((tee && !zone) || (space && zone)) return undefined;
  const pad = (part: string) => part.padStart(2, '0');
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    return undefined;
  }
  const nanos = fraction.replace(/0+$/, '');
  return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${nanos ? `.${nanos}` : ''}${zone && zone !== '+00:00' ? zone : 'Z'}`;
}
