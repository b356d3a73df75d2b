import { isIP } from 'node:net';

/** The Payload URL GitHub calls: `http://<address>:<nodePort><path>` (IPv6 addresses bracketed). */
export function webhookUrl(address: string, nodePort: number, path: string): string {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return `http://${host}:${nodePort}${path}`;
}
