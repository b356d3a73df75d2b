import { parseDocument } from 'yaml';
import { BASE_FLEET } from './fleet';

/** BASE_FLEET with the value at `path` set (or deleted, with undefined). */
function fromBase(path: (string | number)[], value: unknown): string {
  const document = parseDocument(BASE_FLEET);
  if (value === undefined) document.deleteIn(path);
  else document.setIn(path, value);
  return document.toString();
}

/** BASE_FLEET with its nodePort exposure replaced by `lines` (indented under webhook:). */
function withExposure(lines: string): string {
  return BASE_FLEET.replace('      nodePort: 31234\n', lines.split('\n').map((line) => `      ${line}\n`).join(''));
}

/**
 * Hostile or mistaken fleet files that were once synthesized, or failed without naming their place:
 * what each is, its text, and the one line it must fail with.
 */
export const BAD_INPUTS: [string, string, string][] = [
  ['a NUL byte in a source url', fromBase(['clusters', 'staging', 'sources', 0, 'url'], 'https://github.com/lfs269/insta\0vote'),
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "https://github.com/lfs269/insta\\u0000vote" contains a control character (a NUL, a newline, a tab): remove it'],
  ['a NUL byte in an app path', fromBase(['clusters', 'staging', 'apps', 0, 'path'], './deploy/\0'),
    'fleet.yaml:13:15: clusters.staging.apps[0].path: "./deploy/\\u0000" contains a control character (a NUL, a newline, a tab): remove it'],
  ['a newline in a url', fromBase(['clusters', 'staging', 'sources', 0, 'url'], 'https://github.com/lfs269/\ninstavote'),
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "https://github.com/lfs269/\\ninstavote" contains a control character (a NUL, a newline, a tab): remove it'],
  ['an upper-case scheme', fromBase(['clusters', 'staging', 'sources', 0, 'url'], 'HTTPS://github.com/lfs269/instavote'),
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "HTTPS://github.com/lfs269/instavote" must start with https:// or ssh:// (lower case) and name a host, e.g. https://github.com/org/repo'],
  ['a password in an ssh url', fromBase(['clusters', 'staging', 'sources', 0, 'url'], 'ssh://git:secret@github.com/lfs269/instavote'),
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "ssh://git:secret@github.com/lfs269/instavote" carries a password: Flux authenticates over ssh with a key; put it in a Secret and name it in secretName'],
  ['a duration beyond Go\'s range', fromBase(['clusters', 'staging', 'apps', 0, 'interval'], '9999999999999h'),
    'fleet.yaml:14:19: clusters.staging.apps[0].interval: "9999999999999h" is longer than Go\'s longest duration (2562047h47m16s): give a shorter one'],
  ['a duration just beyond Go\'s range', fromBase(['clusters', 'staging', 'apps', 0, 'timeout'], '2562048h'),
    'fleet.yaml:15:18: clusters.staging.apps[0].timeout: "2562048h" is longer than Go\'s longest duration (2562047h47m16s): give a shorter one'],
  ['a fraction below the millisecond', fromBase(['clusters', 'staging', 'apps', 0, 'timeout'], '1.5ms'),
    'fleet.yaml:15:18: clusters.staging.apps[0].timeout: "1.5ms" has a fraction below the millisecond: round it to whole milliseconds'],
  ['a zero duration', fromBase(['clusters', 'staging', 'apps', 0, 'timeout'], '0s'),
    'fleet.yaml:15:18: clusters.staging.apps[0].timeout: "0s" is zero: give a positive duration, e.g. 1m'],
  ['a sub-second interval', fromBase(['clusters', 'staging', 'sources', 0, 'interval'], '500ms'),
    'fleet.yaml:9:19: clusters.staging.sources[0].interval: "500ms" is shorter than 1s: Flux would call the Git host that often; give at least that'],
  ['a sub-second retryInterval', fromBase(['clusters', 'staging', 'apps', 0, 'retryInterval'], '999ms'),
    'fleet.yaml:15:24: clusters.staging.apps[0].retryInterval: "999ms" is shorter than 1s: Flux would call the Git host that often; give at least that'],
  ['a semver range that is none', fromBase(['clusters', 'staging', 'sources', 0, 'branch'], undefined).replace('interval: 1h', 'semver: garbage\n        interval: 1h'),
    'fleet.yaml:8:17: clusters.staging.sources[0].semver: "garbage" is not a semver range: write e.g. ">=1.0.0 <2.0.0", "~1.2" or "1.x"'],
  ['an unknown tag', BASE_FLEET.replace('nodePort: 31234', 'nodePort: !foo 31234'),
    'fleet.yaml:4:17: unknown tag !foo: the fleet file takes plain YAML, remove the tag'],
  ['a js/function tag', BASE_FLEET.replace('branch: main', 'branch: !!js/function main'),
    'fleet.yaml:8:17: unknown tag tag:yaml.org,2002:js/function: the fleet file takes plain YAML, remove the tag'],
  ['an IPv4 address out of range', fromBase(['clusters', 'staging', 'webhook', 'address'], '256.1.1.1'),
    'fleet.yaml:5:16: clusters.staging.webhook.address: "256.1.1.1" is not an IPv4 address (four numbers of 0-255): give the address GitHub can reach a node at'],
  ['an address with a port', fromBase(['clusters', 'staging', 'webhook', 'address'], '198.51.100.7:31500'),
    'fleet.yaml:5:16: clusters.staging.webhook.address: "198.51.100.7:31500" has a port: give the address alone (the port is nodePort, or the load balancer\'s)'],
  ['an IPv6 address with a zone', fromBase(['clusters', 'staging', 'webhook', 'address'], 'fe80::1%eth0'),
    'fleet.yaml:5:16: clusters.staging.webhook.address: "fe80::1%eth0" has an IPv6 zone (%...), which only means something on one machine: give an address GitHub can reach'],
  ['an alias without its anchor', BASE_FLEET.replace('branch: main', 'branch: *main'),
    'fleet.yaml:8:17: alias *main names no anchor before it: define &main first, or write the value out'],
  ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n${BASE_FLEET}`,
    expect.stringMatching(/^fleet\.yaml:2:8: aliases expand to too much \(Excessive alias count.*\): write the values out$/) as unknown as string],
  ['two YAML documents', `${BASE_FLEET}---\nclusters: {}\n`,
    'fleet.yaml:18:1: the fleet file holds more than one YAML document (a --- line): keep the whole fleet in one'],
  ['a list at the top', '- clusters\n',
    'fleet.yaml:1:1: the fleet file must be a mapping with clusters: at its top'],
  ['a key that is a mapping', BASE_FLEET.replace('    webhook:', '    ? {a: 1}\n    : x\n    webhook:'),
    'fleet.yaml:3:7: a key must be a plain name, not a list or a mapping'],
  // zod drops a __proto__ key of a record without a word: it once made a cluster disappear.
  ['a cluster named __proto__', BASE_FLEET.replace('  staging:', '  __proto__:'),
    'fleet.yaml:2:3: clusters.__proto__: "__proto__" is not a valid RFC 1123 label: use at most 63 lower-case letters, digits and \'-\', starting and ending with a letter or digit'],
  ['an annotation key __proto__', withExposure('loadBalancer:\n  annotations:\n    __proto__: internal'),
    'fleet.yaml:6:11: clusters.staging.webhook.loadBalancer.annotations.__proto__: "__proto__" is not an annotation key: write [a DNS prefix/]name, e.g. service.beta.kubernetes.io/aws-load-balancer-type'],
  ['a value of 70,000 characters', BASE_FLEET.replace('./deploy/vote/staging', `./${'a'.repeat(70_000)}`),
    'fleet.yaml:13:15: a value 70002 characters long, over the 65536 one value may take: shorten it (a fleet value is a name, a URL, a path or a short text)'],
  ['a field named __proto__', BASE_FLEET.replace('    webhook:', '    __proto__: {}\n    webhook:'),
    'fleet.yaml:3:5: clusters.staging.__proto__: is not a known field: check its spelling and place (see docs/fleet-file.md)'],
  ['a missing required field', fromBase(['clusters', 'staging', 'sources', 0, 'url'], undefined),
    'fleet.yaml:6:9: clusters.staging.sources[0].url: is required (string)'],
  ['a webhook without an exposure', fromBase(['clusters', 'staging', 'webhook', 'nodePort'], undefined).replace('webhook:\n', 'webhook:\n      address: 203.0.113.10\n'),
    'fleet.yaml:3:5: clusters.staging.webhook: chooses no exposure: add one of nodePort, loadBalancer, gateway, ingress (see docs/exposure.md)'],
  ['two exposures on one cluster', withExposure('nodePort: 31234\ngateway: {parentRef: {name: public}, hostname: hooks.example.com}'),
    'fleet.yaml:5:7: clusters.staging.webhook.gateway: nodePort and gateway are both given, but a cluster\'s Receivers are reached one way: keep one'],
  ['a gateway hostname that is not a DNS name', withExposure('gateway: {parentRef: {name: public}, hostname: "hooks example.com"}'),
    'fleet.yaml:4:54: clusters.staging.webhook.gateway.hostname: "hooks example.com" is not a DNS name: give a fully qualified host name such as flux-hooks.example.com'],
  ['an ingress hostname that is an IP address', withExposure('ingress: {hostname: 203.0.113.10}'),
    'fleet.yaml:4:27: clusters.staging.webhook.ingress.hostname: "203.0.113.10" is an IP address: give a DNS name (routes and Ingresses match host names only), or use nodePort or loadBalancer'],
  ['a parentRef without a name', withExposure('gateway:\n  parentRef: {namespace: gateway-system}\n  hostname: hooks.example.com'),
    'fleet.yaml:5:9: clusters.staging.webhook.gateway.parentRef.name: is required (string)'],
  ['a sourceRanges entry that is not a CIDR', withExposure('loadBalancer:\n  address: hooks.example.com\n  sourceRanges: [192.30.252.0/22, 140.82.112.0]'),
    'fleet.yaml:6:41: clusters.staging.webhook.loadBalancer.sourceRanges[1]: "140.82.112.0" is not a CIDR: write an address and a prefix length, e.g. 192.30.252.0/22 or 2606:50c0::/32'],
  ['an address beside a load balancer', withExposure('address: 203.0.113.10\nloadBalancer: {address: hooks.example.com}'),
    'fleet.yaml:4:7: clusters.staging.webhook.address: belongs to nodePort: for a load balancer write loadBalancer.address'],
  ['allowFrom where no NetworkPolicy is made', withExposure('ingress: {hostname: hooks.example.com}\nallowFrom: [192.30.252.0/22]'),
    'fleet.yaml:5:7: clusters.staging.webhook.allowFrom: has no effect: an ingress has no NetworkPolicy of ours unless networkPolicy: true (its proxy is admitted by Flux\'s allow-webhooks); filter sources at the ingress, or set networkPolicy: true'],
  ['ingress tls that is neither false nor a Secret', withExposure('ingress: {hostname: hooks.example.com, tls: true}'),
    'fleet.yaml:4:51: clusters.staging.webhook.ingress.tls: must be false (plain HTTP) or a mapping with secretName (and clusterIssuer for cert-manager)'],
  ['a key given as a number and as a string', BASE_FLEET.replace('  staging:', '  "123":\n    webhook: {nodePort: 30001}\n    sources: [{name: a, url: "https://h/a"}]\n  123:'),
    'fleet.yaml:5:3: key "123" is given twice in one mapping: keep one'],
  ['a line separator in a url', fromBase(['clusters', 'staging', 'sources', 0, 'url'], 'https://github.com/lfs269/\u2028instavote'),
    'fleet.yaml:7:14: clusters.staging.sources[0].url: "https://github.com/lfs269/\u2028instavote" contains a control character (a NUL, a newline, a tab): remove it'],
  ['a NUL byte in a branch', fromBase(['clusters', 'staging', 'sources', 0, 'branch'], 'ma\0in'),
    'fleet.yaml:8:17: clusters.staging.sources[0].branch: "ma\\u0000in" contains a control character (a NUL, a newline, a tab): remove it'],
  ['a newline after a semver range', fromBase(['clusters', 'staging', 'sources', 0, 'branch'], undefined).replace('interval: 1h', 'semver: "1.x\\n"\n        interval: 1h'),
    'fleet.yaml:8:17: clusters.staging.sources[0].semver: "1.x\\n" contains a control character (a NUL, a newline, a tab): remove it'],
  ['a control character in ignore rules', fromBase(['clusters', 'staging', 'sources', 0, 'ignore'], '/docs\n\u0001'),
    expect.stringMatching(/^fleet\.yaml:\d+:\d+: clusters\.staging\.sources\[0\]\.ignore: ".*" contains a control character other than a newline or a tab: remove it$/) as unknown as string],
];
