import { randomBytes } from 'node:crypto';

/** Bytes of CSPRNG output in a generated token: 256 bits, 64 hex characters. */
const TOKEN_BYTES = 32;
/** 128 bits of hex: shorter tokens are too easy to guess. */
const MIN_TOKEN_LENGTH = 32;

/** A new webhook token: hex from the operating system's CSPRNG, no newline. */
export function generateWebhookToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/**
 * Why `token` cannot serve as a webhook token, or undefined when it can. GitHub and the
 * Secret must hold exactly the same bytes, so whitespace (a newline from `echo`) is refused.
 */
export function webhookTokenProblem(token: string): string | undefined {
  if (/\s/.test(token)) {
    return 'contains whitespace or a newline (GitHub would sign with different bytes): remove it';
  }
  if (!/^[\x21-\x7e]*$/.test(token)) {
    return 'must be printable ASCII';
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    return `is ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} (128 bits of hex), e.g. from: openssl rand -hex 32`;
  }
  return undefined;
}
