import { webhookPath } from '../lib/constructs/webhook-path';
import { generateWebhookToken, webhookTokenProblem } from '../lib/fleet/webhook-token';
import { TOKEN } from './support/synth';

// Vectors computed apart from this code: the first is flux2's own test data; the others with
// coreutils (`printf '%s' "$token$name$namespace" | sha256sum`) and openssl.
describe('webhookPath', () => {
  test.each([
    ['test-token', 'receiver-secret', 'my-namespace', '106120121d366c2f67e93200f6c1dbe938235eb588daa5e8c0516d3a77ac1dee'],
    [TOKEN, 'instavote', 'flux-system', 'b3bc2cd0c6a47fbbe44bf0516d8f41aad0a2092e9f8aeea653b095f162e60ac6'],
    [`${TOKEN}\n`, 'instavote', 'flux-system', '0cc25c973dea6216d9223a2e317564e6cd1f28bc1b5021cca666a0046f18d050'],
    ['e83d76derar7a85f44aabcgdaaea180b1e8c3', 'instavote', 'flux-system', '58ca670a01286b4d1b7252c5eace71faca3d5082000bec2d0682806ed80aada7'],
  ])('sha256(%j + %s + %s)', (token, name, namespace, digest) => {
    expect(webhookPath(token, name, namespace)).toBe(`/hook/${digest}`);
  });
});

describe('generateWebhookToken', () => {
  test('is 256 bits of hex with no newline, different each time, and acceptable', () => {
    const tokens = new Set(Array.from({ length: 20 }, generateWebhookToken));
    expect(tokens.size).toBe(20);
    for (const token of tokens) {
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(webhookTokenProblem(token)).toBeUndefined();
    }
  });
});
