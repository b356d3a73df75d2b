// generic-oidc Receivers from the fleet file to dist/: each bad combination is one line naming its
// place; a good one synthesizes a Receiver the CRD accepts (its schema and its CEL rules), with no
// token, Secret or SOPS file for a cluster whose Receivers all take OIDC tokens.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { FleetError, parseFleet } from '../lib/fleet/parse';
import { synthesize } from '../lib/synth';
import { evaluateBoolean } from '../lib/hosts/filters';
import { oidcReceivers } from '../lib/hosts/oidc';
import { crdValidator } from './support/crd';
import { workspace } from './support/tree';

const RECEIVER_CRD = join(__dirname, 'fixtures', 'flux-crds', 'notification.toolkit.fluxcd.io_receivers.yaml');
const validateReceiver = crdValidator(RECEIVER_CRD);
/** The CRD's CEL rules on spec (x-kubernetes-validations), which the schema validator does not run. */
const SPEC_RULES: { rule: string; message: string }[] = parse(readFileSync(RECEIVER_CRD, 'utf8')).spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'];

async function crdRuleFailures(spec: unknown): Promise<string[]> {
  const failed: string[] = [];
  for (const { rule, message } of SPEC_RULES) {
    const result = await evaluateBoolean(rule, { self: spec });
    if (result !== true) failed.push(message);
  }
  return failed;
}

const RECIPIENT = 'age1rcdf89j5etn82nxsp8v82ax8felj9vuhu4sqczet2nhmtssrhurqpglwf9';

/** A cluster whose only Receiver takes OIDC tokens from a GitHub and a GitLab repository. */
const OIDC_FLEET = `clusters:
  staging:
    sops:
      ageRecipients: [${RECIPIENT}]
    webhook:
      ingress:
        hostname: flux.example.org
    sources:
      - name: vote
        url: https://github.com/octo-org/vote
        branch: main
        repositoryId: 74   # written by webhook ids
        ownerId: 65
      - name: result
        url: https://gitlab.com/my-group/result.git
        tag: v1.2.0
    apps:
      - name: vote
        source: vote
        path: ./deploy
    receivers:
      - name: apps
        type: generic-oidc
        sources: [vote, result]
`;

function problemsOf(text: string): string[] {
  try {
    parseFleet(text);
  } catch (error) {
    if (error instanceof FleetError) return error.problems;
    throw error;
  }
  throw new Error('the fleet parsed');
}

const withReceiver = (lines: string) => OIDC_FLEET.replace(`      - name: apps
        type: generic-oidc
        sources: [vote, result]
`, lines);

describe('the fleet file: generic-oidc Receivers', () => {
  test('a GitHub and a GitLab source, ids and oidc options parse', () => {
    const fleet = parseFleet(withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote, result]
        oidc:
          audience: https://flux.example.org/staging
          allowPlainHttp: false
`));
    const cluster = fleet.clusters[0];
    expect(cluster.sources[0]).toMatchObject({ repositoryId: 74, ownerId: 65 });
    expect(cluster.receivers[0]).toMatchObject({ type: 'generic-oidc', oidc: { audience: 'https://flux.example.org/staging', allowPlainHttp: false } });
  });

  test.each([
    ['oidc on a token-based Receiver', withReceiver(`      - name: apps
        sources: [vote]
        oidc: {audience: x}
`), 'fleet.yaml:24:9: clusters.staging.receivers[0].oidc: is for generic-oidc Receivers only: set type: generic-oidc, or remove oidc (a token-based Receiver checks a token)'],
    ['a misspelt oidc field', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {audiance: x}
`), 'fleet.yaml:25:16: clusters.staging.receivers[0].oidc.audiance: is not a known field: did you mean audience? (see docs/fleet-file.md)'],
    ['a source on Codeberg', OIDC_FLEET.replace('https://gitlab.com/my-group/result.git', 'https://codeberg.org/my-group/result.git'),
      'fleet.yaml:24:25: clusters.staging.receivers[0].sources[1]: source result is on Forgejo, whose CI tokens a generic-oidc Receiver does not know (GitHub and GitLab only): give it a token-based Receiver of its own'],
    ['a source on an unnamed host', OIDC_FLEET.replace('https://gitlab.com/my-group/result.git', 'https://git.example.org/my-group/result.git'),
      'fleet.yaml:24:25: clusters.staging.receivers[0].sources[1]: source result (https://git.example.org/my-group/result.git) is on a host this project cannot tell: add host: github or host: gitlab to the source (a generic-oidc Receiver takes GitHub Actions and GitLab CI tokens only)'],
    ['a commit-pinned source', OIDC_FLEET.replace('tag: v1.2.0', `commit: ${'a'.repeat(40)}`),
      'fleet.yaml:24:25: clusters.staging.receivers[0].sources[1]: source result is pinned to a commit, which no push concerns: follow a branch, tag or semver range, or remove it from this Receiver'],
    ['a plain-HTTP issuer off loopback, even with allowPlainHttp (which covers the Receiver URL only)', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {issuer: "http://issuer.example.org:8080", allowPlainHttp: true}
`), 'fleet.yaml:25:24: clusters.staging.receivers[0].oidc.issuer: "http://issuer.example.org:8080" is plain HTTP off this machine: the controller would fetch the keys that sign tokens in clear, so anyone on the way could forge tokens; use https:// (plain http:// is taken only for a loopback test issuer: 127.0.0.0/8, ::1, localhost)'],
    ['a plain-HTTP issuer on a private address', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {issuer: "http://10.0.0.127"}
`), 'fleet.yaml:25:24: clusters.staging.receivers[0].oidc.issuer: "http://10.0.0.127" is plain HTTP off this machine: the controller would fetch the keys that sign tokens in clear, so anyone on the way could forge tokens; use https:// (plain http:// is taken only for a loopback test issuer: 127.0.0.0/8, ::1, localhost)'],
    ['an issuer that is no URL (http:// alone), one line, no TypeError', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {issuer: "http://"}
`), 'fleet.yaml:25:24: clusters.staging.receivers[0].oidc.issuer: "http://" is not a URL: write the issuer as its tokens\' iss claim says it, e.g. https://token.actions.githubusercontent.com'],
    ['one issuer for GitHub and GitLab sources', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote, result]
        oidc: {issuer: "https://issuer.example.org"}
`), 'fleet.yaml:25:24: clusters.staging.receivers[0].oidc.issuer: one issuer cannot sign both GitHub Actions and GitLab CI tokens: give the GitHub and the GitLab sources a Receiver each, or leave issuer out'],
    ['events on a generic-oidc Receiver', withReceiver(`      - name: apps
        type: generic-oidc
        events: [push]
        sources: [vote]
`), 'fleet.yaml:24:9: clusters.staging.receivers[0].events: a generic-oidc Receiver takes no events (its validations pin the CI event): remove events'],
    ['the controller\'s shared default audience', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {audience: notification-controller}
`), 'fleet.yaml:25:26: clusters.staging.receivers[0].oidc.audience: "notification-controller" is notification-controller\'s shared default: a token requested for it by any job on the issuer\'s platform that uses the default would pass this audience check; leave audience out for flux-infra/<cluster>/<namespace>/<receiver>, or give one specific to this cluster and Receiver'],
    ['a blank audience', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {audience: "  "}
`), 'fleet.yaml:25:26: clusters.staging.receivers[0].oidc.audience: must not be empty (or leave it out for the default, flux-infra/<cluster>/<namespace>/<receiver>)'],
    ['an audience with a "$"', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {audience: "flux-$CLUSTER"}
`), 'fleet.yaml:25:26: clusters.staging.receivers[0].oidc.audience: "flux-$CLUSTER" holds a "$", which GitHub Actions or GitLab CI would expand in the generated CI job: choose an audience without it'],
    ['an audience with a control character', withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {audience: "flux\\tstaging"}
`), 'fleet.yaml:25:26: clusters.staging.receivers[0].oidc.audience: "flux\\tstaging" contains a control character (a NUL, a newline, a tab): remove it'],
    ['an id given as a string', OIDC_FLEET.replace('repositoryId: 74', 'repositoryId: "74"'),
      'fleet.yaml:12:23: clusters.staging.sources[0].repositoryId: must be a number, not "74"'],
    ['a negative id', OIDC_FLEET.replace('ownerId: 65', 'ownerId: -65'),
      'fleet.yaml:13:18: clusters.staging.sources[0].ownerId: Too small: expected number to be >0'],
  ])('%s: one line naming the place', (_what, text, line) => {
    expect(problemsOf(text)).toEqual([line]);
  });

  test.each(['http://127.0.0.1:8080', 'http://127.3.2.1', 'http://[::1]:9000', 'http://localhost:8080'])('a plain-HTTP loopback issuer %s parses without allowPlainHttp (a test issuer)', (issuer) => {
    const fleet = parseFleet(withReceiver(`      - name: apps
        type: generic-oidc
        sources: [vote]
        oidc: {issuer: "${issuer}"}
`));
    expect(fleet.clusters[0].receivers[0].oidc).toEqual({ issuer });
  });

  /** The OIDC fleet with staging's Receiver given `stagingAudience`, and a production cluster whose Receiver has `productionOidc` lines. */
  const twoClusters = (stagingAudience: string, productionOidc = '') => `${OIDC_FLEET.replace('        sources: [vote, result]\n', `        sources: [vote, result]\n        oidc: {audience: ${stagingAudience}}\n`)}  production:
    webhook:
      nodePort: 31235
    sources:
      - name: vote
        url: https://github.com/octo-org/vote
    receivers:
      - name: apps
        type: generic-oidc
        sources: [vote]
${productionOidc}`;

  test('a Receiver without an oidc block whose default audience another Receiver took: refused at its name', () => {
    const text = twoClusters('flux-infra/production/flux-system/apps');
    expect(problemsOf(text)).toEqual(['fleet.yaml:33:15: clusters.production.receivers[0].name: its default audience "flux-infra/production/flux-system/apps" is also the audience of receiver apps of cluster staging: a token for one would open both; give one of them its own oidc.audience']);
  });

  test('two Receivers of the fleet with one audience: the second is refused, naming the first', () => {
    const text = twoClusters('shared', '        oidc: {audience: shared}\n');
    expect(problemsOf(text)).toEqual(['fleet.yaml:36:26: clusters.production.receivers[0].oidc.audience: "shared" is also the audience of receiver apps of cluster staging: a token for one would open both; give each Receiver its own (or leave audience out for the default)']);
  });
});

describe('synth of a cluster whose Receivers all take OIDC tokens', () => {
  const ws = workspace(OIDC_FLEET);
  afterAll(() => rmSync(ws.root, { recursive: true, force: true }));

  test('a generic-oidc Receiver the CRD accepts, one provider per issuer, filters over claims; no token, Secret or SOPS file', async () => {
    const result = await synthesize({ ...ws, env: {} });
    expect(result.newTokens).toEqual([]);
    expect(result.secretFiles).toEqual([]);
    expect(existsSync(ws.secretsDir) ? readdirSync(ws.secretsDir) : []).toEqual([]);
    const clusterDir = join(ws.distDir, 'clusters', 'staging');
    expect(readdirSync(clusterDir).filter((file) => /token|secret/i.test(file))).toEqual([]);

    const receivers = parseAllDocuments(readFileSync(join(clusterDir, 'receivers.yaml'), 'utf8')).map((document) => document.toJS());
    expect(receivers).toHaveLength(1);
    const [receiver] = receivers;
    expect(validateReceiver(receiver)).toEqual([]);
    expect(await crdRuleFailures(receiver.spec)).toEqual([]);
    expect(receiver.spec.type).toBe('generic-oidc');
    expect(receiver.spec.secretRef).toBeUndefined();
    expect(receiver.spec.events).toBeUndefined();
    const [model] = oidcReceivers(parseFleet(OIDC_FLEET).clusters[0]);
    expect(receiver.spec.oidcProviders).toEqual(model.providers.map(({ issuerURL, audience, validations }) => ({ issuerURL, audience, validations })));
    expect(receiver.spec.oidcProviders.map((provider: any) => [provider.issuerURL, provider.audience])).toEqual([
      ['https://token.actions.githubusercontent.com', 'flux-infra/staging/flux-system/apps'],
      ['https://gitlab.com', 'flux-infra/staging/flux-system/apps'],
    ]);
    expect(receiver.spec.resources.map((resource: any) => [resource.name, resource.filter])).toEqual(model.sources.map((source) => [source.source, source.filter]));
    expect(receiver.spec.resources[0].filter).toContain('claims.repository');

    const readme = readFileSync(join(clusterDir, 'README.md'), 'utf8');
    expect(readme).toContain('npm run webhook -- workflow staging');
    expect(readme).toContain('`flux-infra/staging/flux-system/apps`');
    expect(readme).not.toMatch(/token Secret|webhook -- hook/);
  });

  test('the CRD\'s own rules refuse what the construct must never write', async () => {
    expect(await crdRuleFailures({ type: 'generic-oidc', resources: [], secretRef: { name: 'webhook-token' }, oidcProviders: [{ issuerURL: 'https://x', validations: [] }] }))
      .toEqual(['secretRef cannot be set when type is generic-oidc']);
    expect(await crdRuleFailures({ type: 'generic-oidc', resources: [] })).toEqual(['generic-oidc receivers must define at least one oidcProvider']);
  });

  test('a cluster with a token-based Receiver beside the OIDC one keeps its token', async () => {
    const mixed = workspace(OIDC_FLEET.replace('        sources: [vote, result]\n', '        sources: [result]\n      - name: vote\n        sources: [vote]\n').replace(/    sops:\n.*\n/, ''));
    try {
      const result = await synthesize({ ...mixed, env: {} });
      expect(result.newTokens.map((entry) => entry.cluster)).toEqual(['staging']);
      expect(result.secretFiles).toHaveLength(1);
      const receivers = parseAllDocuments(readFileSync(join(mixed.distDir, 'clusters', 'staging', 'receivers.yaml'), 'utf8')).map((document) => document.toJS());
      expect(receivers.map((object) => [object.spec.type, object.spec.secretRef?.name])).toEqual([['generic-oidc', undefined], ['github', 'webhook-token']]);
    } finally {
      rmSync(mixed.root, { recursive: true, force: true });
    }
  });
});
