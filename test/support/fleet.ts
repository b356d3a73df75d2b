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
