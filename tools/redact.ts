// The one masking of secrets in what a command prints. Each credential a command reads (the webhook
// token, a Git host's token, the kubeconfig's token) is held here as it is read; every message and
// every report goes through redact() before it is printed, so that a server answer echoing a request
// header, or a library error quoting a header value, never shows one.

/** What a secret is replaced with. */
export const MASK = '********';

const held = new Set<string>();

/** Holds `secret` (and the forms it takes in JSON and in a URL) for redact(). */
export function holdSecret(secret: string | undefined): void {
  if (secret === undefined || secret === '') return;
  for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) held.add(form);
}

/** `text` with every held secret replaced by MASK (the longest first: one secret may contain another). */
export function redact(text: string): string {
  let result = text;
  for (const secret of [...held].sort((a, b) => b.length - a.length)) result = result.split(secret).join(MASK);
  return result;
}
