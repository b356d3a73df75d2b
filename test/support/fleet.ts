import { parse, parseDocument } from 'yaml';

/** A small valid fleet, as text, for tests to start from. */
export const BASE_FLEET = `clusters:
  staging:
    webhook:
      nodePort: 31234
    sources:
      - name: instavote
        url: https://github.com/lfs269/instavote
        branch: main
        interval: 1h
    apps:
      - name: vote-staging
        source: instavote
        path: ./deploy/vote/staging
        interval: 1h
    receivers:
      - name: instavote
        sources: [instavote]
`;

/**
 * BASE_FLEET with SOPS for staging (`recipients`) and a webhook address; with `production`, also a
 * production cluster like staging, on its own node port and address, with the same recipients.
 */
export function sopsFleet(recipients: string[], production = false): string {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'sops'], { ageRecipients: recipients });
  document.setIn(['clusters', 'staging', 'webhook', 'address'], '203.0.113.10');
  if (production) {
    const staging = parse(BASE_FLEET).clusters.staging;
    document.setIn(['clusters', 'production'], { ...staging, webhook: { nodePort: 31235, address: '203.0.113.11' }, sops: { ageRecipients: recipients } });
  }
  return document.toString();
}
