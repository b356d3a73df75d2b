// The one masking of secrets in what a command prints. Each credential a command reads (the webhook
// token, a Git host's token, the kubeconfig's token) is held here as it is read; every message and
// every report goes through redact() before it is printed, so that a server answer echoing a request
// header, or a library error quoting a header value, never shows one. What only looks like a secret
// (an age secret key anywhere; a 64-hex token in the arguments or the fleet file) is held too.
import { maskSecretShapes, secretShapesIn } from '../lib/secrets/secret-shapes';

/** What a secret is replaced with. */
export const MASK = '********';

const held = new Set<string>();

/** Holds `secret` (and the forms it takes in JSON and in a URL) for redact(). */
export function holdSecret(secret: string | undefined): void {
  if (secret === undefined || secret === '') return;
  for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) held.add(form);
}

/** Holds every age secret key and 64-hex token in `text` (an argument, the fleet file's values). */
export function holdSecretShapes(text: string): void {
  for (const secret of secretShapesIn(text)) holdSecret(secret);
}

/**
 * `text` with every held secret replaced by MASK (the longest first: one secret may contain another)
 * and every age secret key masked. 64-hex values are masked only when held: a webhook path is one.
 */
export function redact(text: string): string {
  let result = text;
  for (const secret of [...held].sort((a, b) => b.length - a.length)) result = result.split(secret).join(MASK);
  return maskSecretShapes(result, { tokens: false });
}
