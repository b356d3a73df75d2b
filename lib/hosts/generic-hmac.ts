// generic-hmac, for any other sender: X-Signature with the HMAC of the body, and no event.
import { createHmac } from 'node:crypto';

/** The header a generic-hmac Receiver checks: `sha256=<hex HMAC-SHA256 of the body with the token>`. */
export function genericHmacHeaders(body: string, token: string): Record<string, string> {
  return { 'Content-Type': 'application/json', 'X-Signature': `sha256=${createHmac('sha256', token).update(body).digest('hex')}` };
}
