// docs/commands.md's "No command prints a secret", for secrets pasted where they do not belong: an age secret
// key and a 64-hex token in every field of the fleet file and in every argument of every command.
// Each runs as a process, as a user (or CI) runs it; stdout and stderr must hold neither.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parseDocument, visit } from 'yaml';
import { parseFleet } from '../lib/fleet/parse';
import { buildProgram as webhookProgram } from '../tools/webhook';
import { buildProgram as secretsProgram } from '../tools/secrets';
import { SCRIPTS, startScript } from './support/cli';
import { TOKEN } from './support/synth';
import { workspace, Workspace } from './support/tree';

/** An age X25519 identity's shape (bech32 upper case), and a token as flux-infra makes them. */
const AGE_SECRET = `AGE-SECRET-KEY-1${'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L'.repeat(2).slice(0, 58)}`;
const HEX_SECRET = createHash('sha256').update('a token pasted in the wrong place').digest('hex');
/** Both at once: each field takes one run, and the mask must catch each shape in it. */
const BOTH = `${AGE_SECRET} ${HEX_SECRET}`;

/** What must not be in any output: each secret, and a long piece of it (a message that cut it short). */
function leaks(output: string): string[] {
  return [AGE_SECRET, AGE_SECRET.slice(16, 40), HEX_SECRET, HEX_SECRET.slice(8, 40)].filter((piece) => output.includes(piece));
}

/** Fleets that between them have every field: each exposure, the fleet repository in both forms, every source ref. */
const FLEETS = [
  `repository: {url: "https://github.com/acme/fleet", branch: main, host: github, apiUrl: "https://api.github.com", receiver: true}
clusters:
  staging:
    namespace: flux-system
    sops: {ageRecipients: [age1rcdf89j5etn82nxsp8v82ax8felj9vuhu4sqczet2nhmtssrhurqpglwf9]}
    webhook: {nodePort: 31234, address: 203.0.113.10, externalTrafficPolicy: Local, networkPolicy: true, allowFrom: [192.30.252.0/22]}
    sources:
      - {name: app, url: "https://github.com/acme/app", branch: main, interval: 1h, timeout: 1m, secretName: app-auth, ignore: "docs/", host: github, apiUrl: "https://api.github.com"}
      - {name: lib, url: "https://github.com/acme/lib", tag: v1.0.0}
      - {name: rel, url: "https://github.com/acme/rel", semver: ">=1.0.0"}
      - {name: pin, url: "https://github.com/acme/pin", commit: 0123456789abcdef0123456789abcdef01234567}
    apps:
      - {name: web, source: app, path: ./deploy, interval: 1h, retryInterval: 1m, timeout: 5m, prune: true, wait: false, targetNamespace: web, dependsOn: [db]}
      - {name: db, source: lib, path: ./db}
    receivers:
      - {name: app, type: github, events: [ping, push], filter: true, sources: [app, lib, rel, pin]}
`,
  `repository: "https://github.com/acme/fleet"
clusters:
  staging:
    webhook: {loadBalancer: {address: hooks.example.com, sourceRanges: [192.30.252.0/22], annotations: {example.com/x: "y"}, tls: true}}
    sources: [{name: app, url: "https://github.com/acme/app"}]
    receivers: [{name: app, sources: [app]}]
`,
  `clusters:
  staging:
    webhook: {gateway: {parentRef: {name: gw, namespace: infra, sectionName: https, port: 443}, hostname: hooks.example.com, tls: true}}
    sources: [{name: app, url: "https://github.com/acme/app"}]
    receivers: [{name: app, sources: [app]}]
`,
  `clusters:
  staging:
    webhook: {ingress: {className: nginx, hostname: hooks.example.com, tls: {secretName: hooks-tls, clusterIssuer: letsencrypt}, annotations: {example.com/x: "y"}}}
    sources: [{name: app, url: "https://github.com/acme/app"}]
    receivers: [{name: app, sources: [app]}]
`,
];

/**
 * Each fleet with one scalar replaced by `secret`: every value and, unless `keys` is false, every key
 * (a misspelt field, a cluster name, an annotation key), one variant each, with what was replaced.
 */
function variants(secret: string, { keys = true } = {}): { fleet: string; at: string }[] {
  const result: { fleet: string; at: string }[] = [];
  for (const fleet of FLEETS) {
    const count = (() => {
      let scalars = 0;
      visit(parseDocument(fleet), { Scalar: () => void scalars++ });
      return scalars;
    })();
    for (let index = 0; index < count; index++) {
      const document = parseDocument(fleet);
      let seen = 0;
      let at = '';
      visit(document, {
        Scalar: (key, node) => {
          if (seen++ !== index) return undefined;
          if (key === 'key' && !keys) return visit.BREAK;
          at = String(node.value);
          node.value = secret;
          return visit.BREAK;
        },
      });
      if (at !== '') result.push({ fleet: document.toString(), at });
    }
  }
  return result;
}

interface Ran { readonly what: string; readonly status: number | null; readonly output: string }

/** A command as a process, killed after `boundMs` (none should need it: the network parts fail at once, on loopback). */
async function run(ws: Workspace, script: keyof typeof SCRIPTS, args: string[], env: NodeJS.ProcessEnv = {}, boundMs = 20_000): Promise<Ran> {
  const { status, stdout, stderr } = await startScript(ws, script, args, env, boundMs);
  return { what: `${script} ${args.join(' ')}`, status, output: `${stdout}${stderr}` };
}

/** Runs `jobs` a few at a time (most of each is waiting on a process start), results in order. */
async function pooled<T>(jobs: (() => Promise<T>)[], width = 3): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]();
    }
  }));
  return results;
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function scratch(fleet: string): Workspace {
  const ws = workspace(fleet);
  roots.push(ws.root);
  return ws;
}

test('the fleet parser never quotes a secret, whichever field it is in', () => {
  for (const secret of [AGE_SECRET, HEX_SECRET, BOTH]) {
    for (const { fleet, at } of variants(secret)) {
      let message = '';
      try {
        parseFleet(fleet, 'fleet.yaml');
      } catch (error) {
        message = (error as Error).message;
      }
      expect([at, leaks(message)]).toEqual([at, []]);
    }
  }
});

test('synth, doctor and url print no secret put in any field of the fleet file', async () => {
  // Every value; of the keys, a cluster's name and a field's (each key went through the parser above).
  const all = [
    ...variants(BOTH, { keys: false }),
    { fleet: FLEETS[1].replace('  staging:', `  ${BOTH}:`), at: 'a cluster name' },
    { fleet: FLEETS[1].replace('    receivers:', `    ${BOTH}: x\n    receivers:`), at: 'a field name' },
  ];
  expect(all.length).toBeGreaterThan(50);
  const env = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN };
  const runs = await pooled(all.map(({ fleet, at }) => async () => {
    const ws = scratch(fleet);
    const synth = await run(ws, 'synth', [], env);
    // A field that takes any text (events, ignore) is accepted: the commands that read it then speak.
    const more = synth.status === 0 ? await Promise.all([run(ws, 'webhook', ['doctor', 'staging'], env), run(ws, 'webhook', ['url', 'staging'], env)]) : [];
    rmSync(ws.root, { recursive: true, force: true });
    return [synth, ...more].map((ran) => ({ at, what: ran.what, status: ran.status, leaks: leaks(ran.output) }));
  }));
  const flat = runs.flat();
  // Most fields refuse the value (exit 1), some take it; none ends by the bound.
  expect(flat.filter((ran) => ran.status === null)).toEqual([]);
  expect(flat.filter((ran) => ran.leaks.length > 0)).toEqual([]);
}, 300_000);

test('no command prints a secret given as its argument or as an option\'s value', async () => {
  const ws = scratch(FLEETS[2].replace('gateway: {parentRef: {name: gw, namespace: infra, sectionName: https, port: 443}, hostname: hooks.example.com, tls: true}', 'nodePort: 31234, address: 203.0.113.10'));
  const env = { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN, KUBECONFIG: `${ws.root}/no-kubeconfig` };
  expect((await run(ws, 'synth', [], env)).status).toBe(0);
  // Whatever talks to a server is pointed at a closed loopback port with a short deadline.
  const offline = ['--timeout', '2'];
  const base: Record<string, string[]> = {
    ping: ['--url', 'http://127.0.0.1:9/', ...offline],
    hook: ['--dry-run'], github: ['--dry-run'],
    deliveries: ['--api-url', 'http://127.0.0.1:9', '--allow-http', ...offline],
    verify: ['--api-url', 'http://127.0.0.1:9', '--allow-http', ...offline],
    allowlist: ['--api-url', 'http://127.0.0.1:9', '--allow-http', ...offline],
  };
  const jobs: (() => Promise<Ran>)[] = [];
  for (const secret of [AGE_SECRET, HEX_SECRET]) {
    jobs.push(() => run(ws, 'synth', [secret], env), () => run(ws, 'synth', [`--${secret}`], env));
    for (const [script, program] of [['webhook', webhookProgram()], ['secrets', secretsProgram()]] as const) {
      jobs.push(() => run(ws, script, [secret], env), () => run(ws, script, [`--${secret}=1`], env));
      for (const command of program.commands) {
        const name = command.name();
        const rest = base[name] ?? [];
        // The cluster argument, an extra argument, an unknown option, and each option that takes a value.
        jobs.push(() => run(ws, script, [name, secret, ...rest], env));
        jobs.push(() => run(ws, script, [name, 'staging', secret, ...rest], env));
        jobs.push(() => run(ws, script, [name, 'staging', `--${secret}`, ...rest], env));
        for (const option of command.options.filter((candidate) => candidate.required || candidate.optional)) {
          // Only for commands whose other runs stay offline; secrets' commands take no values.
          if (script === 'webhook') jobs.push(() => run(ws, script, [name, 'staging', ...rest, option.long!, secret], env));
        }
      }
    }
  }
  const runs = await pooled(jobs);
  expect(runs.length).toBeGreaterThan(60);
  expect(runs.filter((ran) => ran.status === null).map((ran) => ran.what)).toEqual([]);
  expect(runs.filter((ran) => leaks(ran.output).length > 0).map((ran) => `${ran.what}: ${ran.output}`)).toEqual([]);
}, 300_000);
