import { createHash } from 'node:crypto';

/** Every Receiver's path starts with this: what a route or an Ingress must pass on as it is. */
export const WEBHOOK_PATH_PREFIX = '/hook/';

/**
 * The URL path at which notification-controller serves a Receiver:
 * `/hook/` + lower-case hex of sha256(token + name + namespace), as in its
 * `GetWebhookPath`. The token is taken byte for byte: a trailing newline changes the path.
 */
export function webhookPath(token: string, receiverName: string, namespace: string): string {
  const digest = createHash('sha256').update(token + receiverName + namespace, 'utf8').digest('hex');
  return `${WEBHOOK_PATH_PREFIX}${digest}`;
}
