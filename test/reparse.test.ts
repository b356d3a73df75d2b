import * as parse from '../lib/fleet/parse';
import { reparseFleet, reparseOneCluster } from '../lib/fleet/reparse';

function cluster(name: string, port: number): string {
  return [
    `  ${name}:`,
    '    webhook:',
    '      address: 203.0.113.10',
    `      nodePort: ${port}`,
    '    sources:',
    '      - name: app',
    '        url: https://github.com/example/app',
    '        branch: main',
    '        interval: 1h',
    '    apps:',
    '      - name: web',
    '        source: app',
    '        path: ./deploy/web',
    '        interval: 1h',
    '    receivers:',
    '      - name: app',
    '        sources: [app]',
    '',
  ].join('\n');
}

const FLEET = `# the fleet\nrepository: https://github.com/example/fleet\nclusters:\n${cluster('alpha', 31001)}${cluster('beta', 31002)}  # between beta and gamma\n${cluster('gamma', 31003)}${cluster('delta', 31004)}`;

/** What parsing `text` whole gives: the fleet and spans, or the error message. */
function parsedWhole(text: string): unknown {
  try {
    return parse.parseFleetText(text, 'fleet.yaml');
  } catch (error) {
    return (error as Error).message;
  }
}

const previous = () => ({ text: FLEET, parsed: parse.parseFleetText(FLEET, 'fleet.yaml') });

function reparsed(text: string): unknown {
  try {
    return reparseFleet(previous(), text, 'fleet.yaml');
  } catch (error) {
    return (error as Error).message;
  }
}

/** Edits of FLEET, each with whether one cluster's entry alone can be parsed again. */
const EDITS: [string, (text: string) => string, boolean][] = [
  ['an interval in the second cluster', (text) => text.replace('nodePort: 31002\n    sources:\n      - name: app\n        url: https://github.com/example/app\n        branch: main\n        interval: 1h', 'nodePort: 31002\n    sources:\n      - name: app\n        url: https://github.com/example/app\n        branch: main\n        interval: 2h'), true],
  ['an app added to the third cluster', (text) => text.replace('nodePort: 31003\n', 'nodePort: 31003\n').replace(/(31003[\s\S]*?path: \.\/deploy\/web\n        interval: 1h\n)/, '$1      - name: api\n        source: app\n        path: ./deploy/api\n'), true],
  ['the first cluster renamed', (text) => text.replace('  alpha:', '  alpha2:'), true],
  ['the last cluster changed', (text) => text.replace('nodePort: 31004', 'nodePort: 31005'), true],
  ['a comment inside a cluster', (text) => text.replace('# between beta and gamma', '# between beta and gamma, edited'), true],
  ['a cluster renamed to another\'s name', (text) => text.replace('  beta:', '  gamma:'), false],
  ['a cluster moved to another\'s port', (text) => text.replace('nodePort: 31002', 'nodePort: 31003'), false],
  ['a line of a cluster moved out to the top level', (text) => text.replace('        sources: [app]\n  # between', '        sources: [app]\nextra: 1\n  # between'), false],
  ['a cluster added after another', (text) => text.replace('  # between beta and gamma\n', `  # between beta and gamma\n${cluster('epsilon', 31009)}`), false],
  ['a cluster removed', (text) => text.replace(cluster('beta', 31002), ''), false],
  ['the repository changed', (text) => text.replace('example/fleet', 'example/fleet2'), false],
  ['an anchor in one cluster and its alias in the next', (text) => text.replace('nodePort: 31002\n    sources:\n      - name: app\n        url: https://github.com/example/app', 'nodePort: 31002\n    sources:\n      - name: app\n        url: &url https://github.com/example/app').replace('nodePort: 31003\n    sources:\n      - name: app\n        url: https://github.com/example/app', 'nodePort: 31003\n    sources:\n      - name: app\n        url: *url'), false],
  ['an anchor and its alias in one cluster', (text) => text.replace('nodePort: 31002\n    sources:\n      - name: app\n        url: https://github.com/example/app\n        branch: main\n        interval: 1h', 'nodePort: 31002\n    sources:\n      - name: app\n        url: https://github.com/example/app\n        branch: main\n        interval: &every 1h').replace(/(31002[\s\S]*?path: \.\/deploy\/web\n        interval: )1h/, '$1*every'), false],
  ['a middle cluster indented deeper', (text) => text.replace(cluster('beta', 31002), cluster('beta', 31002).split('\n').map((line) => (line === '' ? line : `  ${line}`)).join('\n')), false],
  ['the first cluster indented deeper', (text) => text.replace(cluster('alpha', 31001), cluster('alpha', 31001).split('\n').map((line) => (line === '' ? line : `  ${line}`)).join('\n')), false],
  ['a second document started inside a cluster', (text) => text.replace('    receivers:\n      - name: app\n        sources: [app]\n  # between', '---\n    receivers:\n      - name: app\n        sources: [app]\n  # between'), false],
  ['a syntax error in a cluster', (text) => text.replace('nodePort: 31002', 'nodePort: [31002'), false],
  ['a mistake in a cluster', (text) => text.replace('nodePort: 31002', 'nodePort: 2'), false],
  ['a duplicate key in a cluster', (text) => text.replace('nodePort: 31002', 'nodePort: 31002\n      nodePort: 31012'), false],
];

describe('reparseFleet', () => {
  test.each(EDITS)('gives what parsing the whole file gives after %s', (_what, edit, oneEntry) => {
    const text = edit(FLEET);
    expect(text).not.toBe(FLEET);
    expect(reparsed(text)).toEqual(parsedWhole(text));
    expect({ oneEntry: reparseOneCluster(previous(), text, 'fleet.yaml') !== undefined }).toEqual({ oneEntry });
    expect(previous().parsed.spans?.map((span) => span.name)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
  });

  test('parses the whole file where entries cannot stand alone: flow style, anchors, names that are numbers', () => {
    expect(parse.parseFleetText(FLEET.replace('nodePort: 31001', 'nodePort: &port 31001'), 'fleet.yaml').spans).toBeUndefined();
    expect(parse.parseFleetText(FLEET.replace('  alpha:', '  "123":'), 'fleet.yaml').spans).toBeUndefined();
    const flow = 'clusters: {a: {webhook: {nodePort: 31001}, sources: [{name: s, url: "https://github.com/x/y", branch: main}]}}\n';
    expect(parse.parseFleetText(flow, 'fleet.yaml').spans).toBeUndefined();
  });
});
