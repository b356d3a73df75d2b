import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { ipFamily } from '../lib/fleet/network';
import { FleetError, parseFleet } from '../lib/fleet/parse';
import { BAD_INPUTS } from './support/bad-fleets';
import { listAt, withList } from '../lib/fleet/edit';
import { exposureKindOf } from '../lib/fleet/exposure';
import { syntheticFleet } from '../tools/bench';
import { BASE_FLEET } from './support/fleet';

/** BASE_FLEET with the value at `path` set (or deleted, with undefined). */
function fleetWith(path: (string | number)[], value: unknown): string {
  const document = parseDocument(BASE_FLEET);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

function problemsOf(text: string): string[] {
  try {
    parseFleet(text, 'fleet.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return (error as FleetError).problems;
  }
  throw new Error('expected the fleet to be refused');
}

test('the base fleet parses into cluster configs', () => {
  expect(parseFleet(BASE_FLEET)).toEqual({
    clusters: [{
      name: 'staging',
      namespace: undefined,
      webhook: { nodePort: 31234 },
      sources: [{ name: 'instavote', url: 'https://github.com/lfs269/instavote', branch: 'main', interval: '1h' }],
      apps: [{ name: 'vote-staging', source: 'instavote', path: './deploy/vote/staging', interval: '1h' }],
      // The type follows the source's host (github.com): written out for every later reader.
      receivers: [{ name: 'instavote', type: 'github', sources: ['instavote'] }],
    }],
  });
});

// Each mistake gives one line: file, line and column, the path in the file, and what to do.
test.each([
  ['an out-of-range nodePort', ['clusters', 'staging', 'webhook', 'nodePort'], 32768,
    'fleet.yaml:4:17: clusters.staging.webhook.nodePort: 32768 is outside 30000-32767'],
  ['an unknown key', ['clusters', 'staging', 'webhook', 'nodeport'], 31000,
    'fleet.yaml:5:7: clusters.staging.webhook.nodeport: is not a known field: did you mean nodePort? (see docs/fleet-file.md)'],
  ['a wrong type', ['clusters', 'staging', 'apps', 0, 'prune'], 'yes',
    'fleet.yaml:15:16: clusters.staging.apps[0].prune: must be a boolean, not "yes"'],
  ['a bad duration', ['clusters', 'staging', 'sources', 0, 'interval'], '1 hour',
    'fleet.yaml:9:19: clusters.staging.sources[0].interval: "1 hour" is not a duration: write a number and a unit (ms, s, m, h), e.g. 90s, 30m, 1h, 1h30m'],
  ['a name that is not RFC 1123', ['clusters', 'staging', 'apps', 0, 'name'], 'Vote_Staging',
    'fleet.yaml:11:15: clusters.staging.apps[0].name: "Vote_Staging" is not a valid RFC 1123 name: use at most 253 lower-case letters, digits, \'-\' and \'.\', starting and ending with a letter or digit'],
  ['an app repo url that is not https or ssh', ['clusters', 'staging', 'sources', 0, 'url'], 'http://github.com/lfs269/instavote',
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "http://github.com/lfs269/instavote" must start with https:// or ssh:// (lower case) and name a host, e.g. https://github.com/org/repo'],
  ['an app pointing at a source that does not exist', ['clusters', 'staging', 'apps', 0, 'source'], 'instavot',
    'fleet.yaml:12:17: clusters.staging.apps[0].source: source "instavot" does not exist in this cluster (known: instavote)'],
  ['a missing required field', ['clusters', 'staging', 'apps', 0, 'path'], undefined,
    'fleet.yaml:11:9: clusters.staging.apps[0].path: is required (string)'],
  ['two refs at once', ['clusters', 'staging', 'sources', 0, 'tag'], 'v1.0.0',
    'fleet.yaml:10:14: clusters.staging.sources[0].tag: give only one of branch, tag, semver, commit (also has branch)'],
  ['a path without ./', ['clusters', 'staging', 'apps', 0, 'path'], 'deploy/vote',
    'fleet.yaml:13:15: clusters.staging.apps[0].path: "deploy/vote" must be relative to the source root and start with "./", e.g. ./deploy/vote'],
  ['a branch that is not a Git ref name', ['clusters', 'staging', 'sources', 0, 'branch'], 'main branch',
    'fleet.yaml:8:17: clusters.staging.sources[0].branch: "main branch" is not a valid Git ref name'],
  ['a cluster name that is not RFC 1123', ['clusters', 'Prod_1'], { webhook: { nodePort: 30001 }, sources: [{ name: 'a', url: 'https://h/a' }] },
    'fleet.yaml:18:3: clusters.Prod_1: "Prod_1" is not a valid RFC 1123 label: use at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit'],
  ['a bad CIDR', ['clusters', 'staging', 'webhook', 'allowFrom'], ['10.0.0.0/40'],
    'fleet.yaml:6:11: clusters.staging.webhook.allowFrom[0]: "10.0.0.0/40" is not a CIDR: write an address and a prefix length, e.g. 192.30.252.0/22 or 2606:50c0::/32'],
])('fails on %s, with one line naming the field', (_what, path, value, expected) => {
  expect(problemsOf(fleetWith(path as (string | number)[], value))).toEqual([expected]);
});

test('fails on duplicate app and source names within a cluster', () => {
  const document = parseDocument(BASE_FLEET);
  document.addIn(['clusters', 'staging', 'sources'], { name: 'instavote', url: 'https://github.com/org/other' });
  document.addIn(['clusters', 'staging', 'apps'], { name: 'vote-staging', source: 'instavote', path: './other' });
  expect(problemsOf(document.toString())).toEqual([
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.staging\.sources\[1\]\.name: "instavote" is used twice in sources; names must be unique within a cluster$/),
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.staging\.apps\[1\]\.name: "vote-staging" is used twice in apps; names must be unique within a cluster$/),
  ]);
});

test('fails on dependsOn naming a missing app or the app itself, and receivers naming a missing source', () => {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'apps', 0, 'dependsOn'], ['vote-staging', 'redis']);
  document.setIn(['clusters', 'staging', 'receivers', 0, 'sources'], ['nope']);
  expect(problemsOf(document.toString())).toEqual([
    expect.stringContaining('clusters.staging.apps[0].dependsOn[0]: an app cannot depend on itself'),
    expect.stringContaining('clusters.staging.apps[0].dependsOn[1]: app "redis" does not exist in this cluster (known: vote-staging)'),
    expect.stringContaining('clusters.staging.receivers[0].sources[0]: source "nope" does not exist in this cluster (known: instavote)'),
  ]);
});

test('fails on a dependsOn cycle, naming the apps', () => {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'apps', 0, 'dependsOn'], ['redis']);
  document.addIn(['clusters', 'staging', 'apps'], { name: 'redis', source: 'instavote', path: './redis', dependsOn: ['vote-staging'] });
  expect(problemsOf(document.toString())).toEqual([
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.staging\.apps\[0\]\.dependsOn: forms a cycle: vote-staging -> redis -> vote-staging; Flux would never apply these apps$/),
  ]);
});

test('fails on YAML that does not parse, and on duplicate keys, with the line', () => {
  expect(problemsOf('clusters:\n  staging: [\n')[0]).toMatch(/^fleet\.yaml:\d+:\d+: /);
  expect(problemsOf('clusters:\n  staging: {}\n  staging: {}\n')).toEqual(['fleet.yaml:3:3: key "staging" is given twice in one mapping: keep one']);
  expect(problemsOf('')).toEqual(['fleet.yaml: clusters: is required (mapping)']);
  expect(problemsOf('clusters: {}\n')).toEqual(['fleet.yaml:1:11: clusters: lists no cluster']);
});

test('fails on two clusters that would receive webhooks at one address and port, naming both', () => {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'webhook', 'address'], 'Hooks.example.com');
  const production = parseDocument(BASE_FLEET).getIn(['clusters', 'staging']) as any;
  production.setIn(['webhook', 'address'], 'hooks.example.com');
  document.setIn(['clusters', 'production'], production);
  expect(problemsOf(document.toString())).toEqual([
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.production\.webhook\.address: clusters staging and production both receive webhooks at http:\/\/hooks\.example\.com:31234: give each cluster its own address, port or hostname$/),
  ]);
  production.setIn(['webhook', 'nodePort'], 31235);
  expect(parseFleet(document.toString()).clusters).toHaveLength(2);
});

test('fails on clusters of different exposures that would receive webhooks at one origin', () => {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'webhook'], document.createNode({ gateway: { parentRef: { name: 'public' }, hostname: 'hooks.example.com' } }));
  const production = parseDocument(BASE_FLEET).getIn(['clusters', 'staging']) as any;
  production.setIn(['webhook'], document.createNode({ ingress: { hostname: 'hooks.example.com' } }));
  document.setIn(['clusters', 'production'], production);
  expect(problemsOf(document.toString())).toEqual([
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.production\.webhook\.ingress\.hostname: clusters staging and production both receive webhooks at https:\/\/hooks\.example\.com: give each cluster its own address, port or hostname$/),
  ]);
  // The same host name on another listener port is another origin.
  document.setIn(['clusters', 'staging', 'webhook', 'gateway', 'parentRef', 'port'], 8443);
  expect(parseFleet(document.toString()).clusters).toHaveLength(2);
  // A load balancer terminating TLS at a host name is https on 443 too.
  production.setIn(['webhook'], document.createNode({ loadBalancer: { address: 'hooks.example.com', tls: true } }));
  document.setIn(['clusters', 'staging', 'webhook', 'gateway', 'parentRef', 'port'], 443);
  expect(problemsOf(document.toString())).toEqual([expect.stringContaining('clusters.production.webhook.loadBalancer.address: clusters staging and production both receive webhooks at https://hooks.example.com:')]);
});

test.each(BAD_INPUTS)('fails on %s, naming its line, column and field, with no warning printed', (_what, text, expected) => {
  const warn = jest.spyOn(process, 'emitWarning');
  try {
    expect(problemsOf(text)).toEqual([expected]);
    expect(warn).not.toHaveBeenCalled();
  } finally {
    warn.mockRestore();
  }
});

describe('withList edits one list of the fleet file and keeps every other byte', () => {
  const path = ['clusters', 'staging', 'webhook', 'allowFrom'];
  test('a block list: kept items keep their comments, the rest is rewritten', () => {
    const text = 'clusters:\n  staging:\n    webhook:\n      allowFrom:  # ranges\n        - 10.0.0.0/8    # office\n        - 10.1.0.0/16\n      nodePort: 31234 # port\n';
    expect(withList(text, path, ['10.0.0.0/8', '2606:50c0::/32'])).toBe('clusters:\n  staging:\n    webhook:\n      allowFrom:  # ranges\n        - 10.0.0.0/8    # office\n        - 2606:50c0::/32\n      nodePort: 31234 # port\n');
    expect(withList(text, path, ['192.30.252.0/22'])).toBe('clusters:\n  staging:\n    webhook:\n      allowFrom:  # ranges\n        - 192.30.252.0/22\n      nodePort: 31234 # port\n');
  });

  test('a flow list stays a flow list; a missing list is added in its mapping\'s style, the mappings between too', () => {
    expect(withList('a: {b: [x]}  # c\n', ['a', 'b'], ['x', 'y: z'])).toBe('a: {b: [x, "y: z"]}  # c\n');
    const text = 'clusters:\n  staging:  # the one\n    webhook:\n      nodePort: 31234   # aligned\n    sources:\n      - name: a  # first\n  prod:\n    webhook: {nodePort: 31235}\n';
    expect(withList(text, path, ['10.0.0.0/8', '2606:50c0::/32'])).toBe(text.replace('31234   # aligned\n', '31234   # aligned\n      allowFrom:\n        - 10.0.0.0/8\n        - 2606:50c0::/32\n'));
    expect(withList(text, ['clusters', 'staging', 'sops', 'ageRecipients'], ['age1x'])).toBe(text.replace('a  # first\n', 'a  # first\n    sops:\n      ageRecipients:\n        - age1x\n'));
    expect(withList(text, ['clusters', 'prod', 'webhook', 'allowFrom'], ['10.0.0.0/8'])).toBe(text.replace('{nodePort: 31235}', '{nodePort: 31235, allowFrom: [10.0.0.0/8]}'));
    expect(listAt(withList(text, ['clusters', 'prod', 'sops', 'ageRecipients'], ['age1x']), ['clusters', 'prod', 'sops', 'ageRecipients'])).toEqual(['age1x']);
  });
});

test('the bench\'s generated fleet parses, with every exposure in turn', () => {
  const fleet = parseFleet(syntheticFleet(8));
  expect(fleet.clusters.map((cluster) => exposureKindOf(cluster.webhook))).toEqual(['nodePort', 'loadBalancer', 'gateway', 'ingress', 'nodePort', 'loadBalancer', 'gateway', 'ingress']);
});

test('ipFamily (the system\'s address parser, no pattern to compile) agrees with net.isIP', () => {
  const inputs = ['::', '::/0', '2606:50c0::', 'fe80::1%eth0', '::ffff:1.2.3.4', '::ffff:999.1.1.1', '1::2::3', '2001:db8::1:0:0:1', '192.30.252.0', '192.30.252', '256.1.1.1', 'github.com', '', ':', 'fe80::1%', 'fe80::1%eth0%x', 'fe80::1%a b', '[::1]', '2001:db8:0:0:0:0:0:1:2'];
  expect(inputs.map(ipFamily)).toEqual(inputs.map((input) => isIP(input)));
});
