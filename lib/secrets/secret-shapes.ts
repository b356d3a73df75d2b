// What a secret looks like, for messages that quote what a user typed: a value pasted into the
// wrong place (an age private key as a recipient, a token as a path) must not reach a CI log.
// tools/redact.ts masks the secrets a command holds; this masks the ones it was never told about.

/** An age identity, X25519 (`AGE-SECRET-KEY-1...`) or hybrid (`AGE-SECRET-KEY-PQ-1...`), in either case. */
const AGE_SECRET_KEY = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+/gi;

/** A webhook token as flux-infra makes them: 64 hex characters, not part of a longer hex run. */
const HEX_TOKEN = /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/gi;

/** What a masked value is replaced with; says what it was, so the message still reads. */
export const MASKED_AGE_KEY = '<an age secret key, not shown>';
export const MASKED_TOKEN = '<a 64-hex token, not shown>';

/** Every age secret key and 64-hex token in `text`, for tools/redact.ts to hold. */
export function secretShapesIn(text: string): string[] {
  return [...text.matchAll(AGE_SECRET_KEY), ...text.matchAll(HEX_TOKEN)].map((match) => match[0]);
}

/**
 * `text` with every age secret key masked and, unless `tokens` is false, every 64-hex token. Output
 * that prints 64-hex values of its own (a webhook path is a sha256) masks only the tokens it holds.
 */
export function maskSecretShapes(text: string, { tokens = true }: { tokens?: boolean } = {}): string {
  const masked = text.replace(AGE_SECRET_KEY, MASKED_AGE_KEY);
  return tokens ? masked.replace(HEX_TOKEN, MASKED_TOKEN) : masked;
}
