// The webhook token as a team lives with it: two clones, a rotation pulled, a tampered committed
// file, a synth or rotation killed for real (SIGKILL), commands started together.
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { synthesize } from '../lib/synth';
import { CLUSTER_FILES, lockFileFor } from '../lib/layout';
import { acquireLock } from '../lib/io/repository-lock';
import { encryptSecretFile } from '../lib/secrets/encrypted-secret';
import { sopsDecrypt } from '../lib/secrets/sops';
import { doctor } from '../tools/webhook/doctor';
import { payloadUrls } from '../tools/webhook/url';
import { rotateToken, takeToken } from '../tools/secrets';
import { ageKeygen, AgeKey } from './support/age';
import { runScript, startScript } from './support/cli';
import { BASE_FLEET, sopsFleet } from './support/fleet';
import { TOKEN } from './support/synth';
import { git } from './support/git';
import { readTree, workspace, Workspace, workspaceAt, writeFile } from './support/tree';

// Each test starts real processes (about a second each on a small machine).
jest.setTimeout(30_000);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A workspace whose staging cluster has its own age key in secrets/staging/age.agekey, synthesized once. */
async function sopsWorkspace(): Promise<{ ws: Workspace; key: AgeKey }> {
  const scratch = workspace('clusters: {}\n');
  roots.push(scratch.root);
  const key = await ageKeygen(join(scratch.root, 'keys'));
  const ws = workspace(sopsFleet([key.recipient]));
  roots.push(ws.root);
  writeFile(join(ws.secretsDir, 'staging', 'age.agekey'), readFileSync(key.file, 'utf8'));
  await synthesize({ ...ws, env: {} });
  return { ws, key };
}

const encryptedFile = (ws: Workspace) => join(ws.distDir, 'clusters', 'staging', CLUSTER_FILES.encryptedTokenSecret);
const tokenFile = (ws: Workspace) => join(ws.secretsDir, 'staging', 'webhook-token');
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

async function committedToken(ws: Workspace, key: AgeKey): Promise<string> {
  return (await sopsDecrypt(readFileSync(encryptedFile(ws), 'utf8'), [key.identity])).documents[0].stringData.token;
}

function hookPath(token: string): string {
  return `/hook/${createHash('sha256').update(`${token}instavoteflux-system`).digest('hex')}`;
}

describe('two clones of one repository', () => {
  test('a rotation pulled into the other clone is never encrypted back, and its url prints the new path', async () => {
    const { ws: a, key } = await sopsWorkspace();
    // The project's own ignore rules: what synth leaves beside dist/ (lock, render cache) must be in them.
    cpSync(join(__dirname, '..', '.gitignore'), join(a.root, '.gitignore'));
    git(a.root, 'init', '-q');
    git(a.root, 'add', '-A');
    git(a.root, 'commit', '-qm', 'fleet');
    const b = workspaceAt(`${a.root}-b`);
    roots.push(b.root);
    git(a.root, 'clone', '-q', a.root, b.root);
    // The second operator has the same key and the same (soon old) token.
    cpSync(a.secretsDir, b.secretsDir, { recursive: true });
    const old = read(tokenFile(a))!;

    const rotation = runScript(a, 'secrets', ['rotate-token', 'staging']);
    expect(rotation.stderr).toBe('');
    expect(rotation.status).toBe(0);
    git(a.root, 'commit', '-qam', 'rotate');
    const rotated = read(tokenFile(a))!;
    expect(rotated).not.toBe(old);
    expect(await committedToken(a, key)).toBe(rotated);

    git(b.root, 'pull', '-q', '--ff-only');
    const synth = runScript(b, 'synth');
    expect(synth.status).toBe(0);
    expect(synth.stderr).toContain(`note: ${tokenFile(b)} is stale: the committed ${encryptedFile(b)} holds another token`);
    expect(synth.stderr).toContain('npm run secrets -- take-token staging');
    expect(git(b.root, 'status', '--porcelain')).toBe('');
    expect(read(encryptedFile(b))).toBe(read(encryptedFile(a)));

    // Without the key, the token checked against the old committed file is known to be stale.
    const keyless = { ...b, secretsDir: `${b.root}-keyless` };
    roots.push(keyless.secretsDir);
    cpSync(b.secretsDir, keyless.secretsDir, { recursive: true });
    rmSync(join(keyless.secretsDir, 'staging', 'age.agekey'));
    await expect(payloadUrls('staging', { ...keyless, env: {} })).rejects.toThrow(/webhook-token may be stale: .* changed since this token was checked against it \(a rotation or a re-encryption pulled\?\)/);

    const url = runScript(b, 'webhook', ['url', 'staging', '--receiver', 'instavote']);
    expect(url.status).toBe(0);
    expect(url.stdout.trim()).toBe(`http://203.0.113.10:31234${hookPath(rotated)}`);
    // The old token offered through the environment is refused, not encrypted.
    const forced = runScript(b, 'synth', [], { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: old });
    expect(forced.status).toBe(1);
    expect(forced.stderr).toMatch(/FLUX_INFRA_WEBHOOK_TOKEN_STAGING holds another token than the committed .*: unset it/);
    expect((await doctor('staging', { ...b, env: {} })).problems).toEqual([expect.stringContaining(`${tokenFile(b)} is stale`)]);

    expect(await takeToken('staging', { ...b, env: {} })).toEqual({ tokenFile: tokenFile(b), staleFile: `${tokenFile(b)}.stale`, changed: true });
    expect(read(tokenFile(b))).toBe(rotated);
    expect(read(`${tokenFile(b)}.stale`)).toBe(old);
    const clean = runScript(b, 'synth');
    expect([clean.status, clean.stderr]).toEqual([0, 'dist: up to date\n']);
    expect(git(b.root, 'status', '--porcelain')).toBe('');
  });

  test('a fresh clone\'s synth makes no token for a cluster that exists, and says how to get one', async () => {
    const ws = workspace(readFileSync(join(__dirname, '..', 'fleet.yaml'), 'utf8'));
    roots.push(ws.root);
    cpSync(join(__dirname, '..', 'dist'), ws.distDir, { recursive: true });
    const before = readTree(ws.distDir);
    const result = await synthesize({ ...ws, env: {} });
    expect(result.generatedTokens).toEqual([]);
    expect(result.secretFiles).toEqual([]);
    expect(existsSync(ws.secretsDir)).toBe(false);
    expect(result.notes).toContainEqual(expect.stringMatching(/^production: no webhook token here \(the cluster exists, so its token is elsewhere\).*FLUX_INFRA_WEBHOOK_TOKEN_PRODUCTION.*rotate-token production$/));
    expect(readTree(ws.distDir)).toEqual(before);
  });
});

describe('a committed encrypted Secret that was edited', () => {
  /** Changes one base64 character of the first match of `pattern`'s group 1, keeping the form valid. */
  const flip = (pattern: RegExp) => (text: string) => text.replace(pattern, (whole, group: string) => {
    const index = Math.floor(group.length / 2);
    const swapped = group[index] === 'A' ? 'B' : 'A';
    return whole.replace(group, group.slice(0, index) + swapped + group.slice(index + 1));
  });
  const tamperings: [string, (text: string) => string, boolean][] = [
    ['the mac', flip(/mac: ENC\[AES256_GCM,data:([^,]+)/), true],
    ['lastmodified', (text) => text.replace(/lastmodified: "(\d{4})/, (_whole, year) => `lastmodified: "${Number(year) - 1}`), true],
    ['the token ciphertext', flip(/token: ENC\[AES256_GCM,data:([^,]+)/), true],
    ['the age stanza', flip(/-----BEGIN AGE ENCRYPTED FILE-----\n\s+(\S+)/), false],
    ['the age stanza\'s body', flip(/-----BEGIN AGE ENCRYPTED FILE-----\n\s+\S+\n\s+(\S+)/), true],
    ['the Secret\'s name', (text) => text.replace('name: webhook-token', 'name: other-token'), false],
    ['lastmodified, unquoted', (text) => text.replace(/lastmodified: "([^"]+)"/, 'lastmodified: $1'), false],
    ['the recipient list', (text) => text.replace(/\n {4}age:\n[\s\S]*?(\n {4}encrypted_regex)/, '\n    age: []$1'), false],
  ];
  test.each(tamperings)('fails synth and doctor on an edited %s, in one line, leaving dist/ as it was', async (_what, tamper, needsKey) => {
    const { ws, key } = await sopsWorkspace();
    writeFileSync(encryptedFile(ws), tamper(readFileSync(encryptedFile(ws), 'utf8')));
    const dist = readTree(ws.distDir);
    const secrets = readTree(ws.secretsDir);
    const failure = await synthesize({ ...ws, env: {} }).then(() => undefined, (error: Error) => error.message);
    expect(failure).toMatch(new RegExp(`^${encryptedFile(ws)}: [^\n]*; it is left as it is: restore it from git [^\n]*$`));
    expect(failure).not.toMatch(/[0-9A-F]{64}/);
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readTree(ws.secretsDir)).toEqual(secrets);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toContainEqual(failure);
    // Without a key only the form can be checked: an edit inside the ciphertexts shows with the key.
    const keyless = synthesize({ ...ws, secrets: false });
    if (needsKey) await expect(keyless).resolves.toBeDefined();
    else await expect(keyless).rejects.toThrow(failure!);
    expect(readTree(ws.distDir)).toEqual(dist);
    // What the message offers works: a rotation replaces the edited file.
    const rotation = await rotateToken('staging', { ...ws, env: {} });
    expect(await committedToken(ws, key)).toBe(rotation.token);
  });

  test('the synth command reports it under its one headline, exit code 1', async () => {
    const { ws } = await sopsWorkspace();
    writeFileSync(encryptedFile(ws), tamperings[0][1](readFileSync(encryptedFile(ws), 'utf8')));
    const synth = runScript(ws, 'synth');
    expect(synth.status).toBe(1);
    expect(synth.stderr).toMatch(new RegExp(`^synth failed, dist/ is unchanged: ${encryptedFile(ws)}: it was edited after encryption: the key in .*age\.agekey, one of its recipients, does not open it \\(sops\\.mac: cannot decrypt[^\n]*\n$`));
  });
});

describe('killed for real, and run together', () => {
  test('a synth killed between its two renames is undone before anything reads dist/, also without secrets', async () => {
    const { ws, key } = await sopsWorkspace();
    const token = read(tokenFile(ws));
    writeFile(ws.fleetFile, readFileSync(ws.fleetFile, 'utf8').replace('interval: 1h', 'interval: 2h'));
    const killed = runScript(ws, 'synth', [], { FLUX_INFRA_FAILPOINT: 'dist-between-renames' });
    expect(killed.signal).toBe('SIGKILL');
    // Killed with the changed files moved aside and their new versions not yet moved in: the journal says which.
    expect(readdirNames(join(ws.root, '.dist.next'))).toEqual(['files', 'journal.json']);
    expect(readdirNames(join(ws.root, '.dist.old'))).toEqual(['clusters']);
    const url = runScript(ws, 'webhook', ['url', 'staging']);
    expect(url.status).toBe(1);
    expect(url.stderr).toMatch(/a synth was interrupted .*: run npm run synth/);
    // doctor says that alone: the missing files it would otherwise see follow from it.
    expect((await doctor('staging', { ...ws, env: {} })).problems).toEqual([expect.stringMatching(/^a synth was interrupted \(.*\.dist\.old.*\): run npm run synth/)]);

    const next = runScript(ws, 'synth', [], { FLUX_INFRA_NO_SECRETS: '1' });
    // The rollback is said, not done silently.
    expect(next.stderr).toBe('an interrupted synth was rolled back: 2 file(s) restored, 0 new file(s) removed\ndist: 2 file(s) written, 0 stale file(s) removed\n');
    expect(next.status).toBe(0);
    expect(read(tokenFile(ws))).toBe(token);
    expect(await committedToken(ws, key)).toBe(token);
    expect(readdirNames(ws.root)).toEqual(['dist', 'fleet.yaml', 'secrets', '.sops.yaml', '.flux-infra.cache.json'].sort());
  });

  test('synths started together run one at a time: one token, stored and committed alike', async () => {
    const scratch = workspace('clusters: {}\n');
    roots.push(scratch.root);
    const key = await ageKeygen(join(scratch.root, 'keys'));
    const ws = workspace(sopsFleet([key.recipient]));
    roots.push(ws.root);
    const runs = await Promise.all(Array.from({ length: 5 }, () => startScript(ws, 'synth', [], { SOPS_AGE_KEY_FILE: key.file })));
    // Each one runs in turn, or (on a slow machine) gives up after waiting, naming the holder.
    for (const run of runs) {
      expect([
        { status: 0, stderr: expect.stringMatching(/^dist: /) },
        { status: 1, stderr: expect.stringMatching(/^synth failed, dist\/ is unchanged: another synth is running \(pid \d+\): wait until it ends and run again/) },
      ]).toContainEqual({ status: run.status, stderr: run.stderr });
    }
    expect(runs.filter((run) => run.status === 0).length).toBeGreaterThan(0);
    expect(runs.filter((run) => run.stderr.includes('new webhook token'))).toHaveLength(1);
    expect(await committedToken(ws, key)).toBe(read(tokenFile(ws)));
    expect(existsSync(lockFileFor(ws.distDir))).toBe(false);
  });

  test('a live holder makes the next one wait, then fail naming its pid; a dead holder\'s lock is taken over', async () => {
    const ws = workspace(BASE_FLEET);
    roots.push(ws.root);
    const file = lockFileFor(ws.distDir);
    const held = await acquireLock(file);
    await expect(acquireLock(file, { waitMs: 100 })).rejects.toThrow(`another synth is running (pid ${process.pid}): wait until it ends and run again`);
    held.release();
    expect(existsSync(file)).toBe(false);

    const dead = runScript(ws, 'synth', [], { FLUX_INFRA_FAILPOINT: 'synth-tokens-stored' });
    expect(dead.signal).toBe('SIGKILL');
    expect(readFileSync(file, 'utf8')).toBe(`${dead.pid}\n`);
    const next = runScript(ws, 'synth');
    expect(next.status).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});

describe('a rotation killed at any point', () => {
  const points = ['rotation-journaled', 'dist-between-renames', 'rotation-synthesized', 'rotation-previous-written'];
  test.each(points)('at %s leaves either the whole rotation or none, and a retry keeps the token GitHub has as previous', async (point) => {
    const { ws, key } = await sopsWorkspace();
    const original = read(tokenFile(ws))!;
    const killed = runScript(ws, 'secrets', ['rotate-token', 'staging'], { FLUX_INFRA_FAILPOINT: point });
    expect(killed.signal).toBe('SIGKILL');

    expect((await synthesize({ ...ws, env: {} })).notes).toEqual(['staging: an interrupted token rotation was undone']);
    expect(read(tokenFile(ws))).toBe(original);
    expect(await committedToken(ws, key)).toBe(original);
    expect(existsSync(`${tokenFile(ws)}.previous`)).toBe(false);

    await rotateToken('staging', { ...ws, env: {} });
    expect(read(`${tokenFile(ws)}.previous`)).toBe(original);
    expect(await committedToken(ws, key)).toBe(read(tokenFile(ws)));
  });

  test('after its new token is stored, is finished by the next command', async () => {
    const { ws, key } = await sopsWorkspace();
    const original = read(tokenFile(ws))!;
    const killed = runScript(ws, 'secrets', ['rotate-token', 'staging'], { FLUX_INFRA_FAILPOINT: 'rotation-token-stored' });
    expect(killed.signal).toBe('SIGKILL');
    const rotated = read(tokenFile(ws))!;
    expect(rotated).not.toBe(original);
    expect(existsSync(join(ws.secretsDir, 'staging', 'rotation.json'))).toBe(true);
    const synth = runScript(ws, 'synth');
    expect(synth.stderr).toMatch(/note: staging: an interrupted token rotation was finished/);
    expect(existsSync(join(ws.secretsDir, 'staging', 'rotation.json'))).toBe(false);
    expect(read(tokenFile(ws))).toBe(rotated);
    expect(read(`${tokenFile(ws)}.previous`)).toBe(original);
    expect(await committedToken(ws, key)).toBe(rotated);
  });

  test('undone, never puts the old committed Secret back over one pulled since', async () => {
    const { ws, key } = await sopsWorkspace();
    const original = read(tokenFile(ws))!;
    expect(runScript(ws, 'secrets', ['rotate-token', 'staging'], { FLUX_INFRA_FAILPOINT: 'rotation-synthesized' }).signal).toBe('SIGKILL');
    // Meanwhile a teammate's rotation is pulled: another token, committed.
    const pulled = await encryptSecretFile(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-token\n  namespace: flux-system\n  labels:\n    reconcile.fluxcd.io/watch: Enabled\n  annotations:\n    flux-infra.io/cluster: staging\nstringData:\n  token: ${TOKEN}\ntype: Opaque\n`, { recipients: [key.recipient], now: new Date() });
    writeFileSync(encryptedFile(ws), pulled);
    const result = await synthesize({ ...ws, env: {} });
    expect(result.notes).toContainEqual('staging: an interrupted token rotation was undone');
    expect(read(encryptedFile(ws))).toBe(pulled);
    expect(await committedToken(ws, key)).toBe(TOKEN);
    expect(read(tokenFile(ws))).toBe(original);
    expect(result.notes).toContainEqual(expect.stringContaining(`${tokenFile(ws)} is stale`));
  });

  test('that was finished by recovery is not followed by another: the token GitHub has stays previous', async () => {
    const { ws } = await sopsWorkspace();
    const original = read(tokenFile(ws))!;
    expect(runScript(ws, 'secrets', ['rotate-token', 'staging'], { FLUX_INFRA_FAILPOINT: 'rotation-token-stored' }).signal).toBe('SIGKILL');
    const retry = runScript(ws, 'secrets', ['rotate-token', 'staging']);
    expect(retry.status).toBe(1);
    expect(retry.stderr).toMatch(/^error: staging: an interrupted token rotation was finished: its new token is in .*; update the Git hosts' webhooks \(npm run webhook -- hook staging\) before rotating again\n$/);
    expect(read(`${tokenFile(ws)}.previous`)).toBe(original);
  });

  test('is refused with a local token that may be stale and no key to tell', async () => {
    const { ws, key } = await sopsWorkspace();
    const stale = read(tokenFile(ws))!;
    const record = read(`${tokenFile(ws)}.committed`)!;
    await rotateToken('staging', { ...ws, env: {} });
    // Back to the token and record of before, as a clone that pulled the rotation without the key has them.
    writeFileSync(tokenFile(ws), stale);
    writeFileSync(`${tokenFile(ws)}.committed`, record);
    rmSync(join(ws.secretsDir, 'staging', 'age.agekey'));
    const committed = read(encryptedFile(ws));
    await expect(rotateToken('staging', { ...ws, env: {} })).rejects.toThrow(/webhook-token may be stale: .*rotating now would keep that stale token as previous/);
    expect(read(encryptedFile(ws))).toBe(committed);
    expect(read(tokenFile(ws))).toBe(stale);
    expect(await committedToken(ws, key)).not.toBe(stale);
  });

  test('that fails puts back the token, the previous one and the local Secret manifest', async () => {
    const ws = workspace(BASE_FLEET);
    roots.push(ws.root);
    await synthesize({ ...ws, env: {} });
    const before = readTree(ws.secretsDir);
    writeFile(join(ws.distDir, 'clusters', 'staging', 'sources.yaml'), 'hand: written\n');
    await expect(rotateToken('staging', { ...ws, env: {} })).rejects.toThrow(/was not written by flux-infra/);
    expect(readTree(ws.secretsDir)).toEqual(before);
  });
});

describe('a cluster made your own', () => {
  test('age-key killed between the key and the fleet file is finished by running it again', async () => {
    const ws = workspace(readFileSync(join(__dirname, '..', 'fleet.yaml'), 'utf8'));
    roots.push(ws.root);
    const before = readFileSync(ws.fleetFile, 'utf8');
    expect(runScript(ws, 'secrets', ['age-key', 'staging', '--replace-recipients'], { FLUX_INFRA_FAILPOINT: 'age-key-written' }).signal).toBe('SIGKILL');
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before);
    const again = runScript(ws, 'secrets', ['age-key', 'staging', '--replace-recipients']);
    expect(again.status).toBe(0);
    expect(readFileSync(join(ws.secretsDir, 'staging', 'age.agekey'), 'utf8')).toContain(`# public key: ${again.stdout.trim()}`);
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(before.replace(/age1[0-9a-z]{58}/, again.stdout.trim()));
    expect(runScript(ws, 'secrets', ['age-key', 'staging', '--replace-recipients']).stderr).toMatch(/age\.agekey exists already; it is kept/);
  });

  test('takes two commands on the default fleet: a key replacing the recipients, then a new token', async () => {
    const ws = workspace(readFileSync(join(__dirname, '..', 'fleet.yaml'), 'utf8'));
    roots.push(ws.root);
    cpSync(join(__dirname, '..', 'dist'), ws.distDir, { recursive: true });
    copyFileSync(join(__dirname, '..', '.sops.yaml'), ws.sopsConfigFile);
    await expect(payloadUrls('staging', { ...ws, env: {} })).rejects.toThrow(/^no webhook token for staging here: .*; put an age key that opens .*webhook-token-secret\.sops\.yaml in .*secrets\/staging\/age\.agekey or SOPS_AGE_KEY_FILE \(whoever set up the cluster has one\), or give the cluster a new token encrypted for your key: npm run secrets -- age-key staging --replace-recipients, then npm run secrets -- rotate-token staging$/);

    const fleetBefore = readFileSync(ws.fleetFile, 'utf8');
    const ageKey = runScript(ws, 'secrets', ['age-key', 'staging', '--replace-recipients']);
    expect(ageKey.status).toBe(0);
    // Only the recipient changed, comments and their alignment included.
    expect(readFileSync(ws.fleetFile, 'utf8')).toBe(fleetBefore.replace(/age1[0-9a-z]{58}/, ageKey.stdout.trim()));
    const rotation = runScript(ws, 'secrets', ['rotate-token', 'staging']);
    expect(rotation.status).toBe(0);

    const token = read(tokenFile(ws))!;
    const urls = await payloadUrls('staging', { ...ws, env: {} });
    expect(urls.receivers[0].url).toBe(`http://203.0.113.10:31234${hookPath(token)}`);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toEqual([]);
    const dryRun = runScript(ws, 'webhook', ['github', 'staging', '--dry-run']);
    expect(dryRun.status).toBe(0);
    expect(dryRun.stdout).toContain(hookPath(token));
  });

  test('with a post-quantum key (age1pq1), which encrypts and opens the committed Secret', async () => {
    const ws = workspace(BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      address: 203.0.113.10'));
    roots.push(ws.root);
    // As docs/secrets.md gives it: `npm run secrets -- age-key <cluster> --post-quantum`.
    const created = runScript(ws, 'secrets', ['age-key', 'staging', '--post-quantum', '--write-fleet']);
    expect(created.status).toBe(0);
    const result = { keyFile: join(ws.secretsDir, 'staging', 'age.agekey'), recipient: parseDocument(readFileSync(ws.fleetFile, 'utf8')).getIn(['clusters', 'staging', 'sops', 'ageRecipients', 0]) };
    expect(result.recipient).toMatch(/^age1pq1/);
    expect(created.stdout).toContain(result.recipient);
    expect(readFileSync(result.keyFile, 'utf8')).toMatch(/\nAGE-SECRET-KEY-PQ-1[0-9A-Z]+\n$/);
    await synthesize({ ...ws, env: {} });
    const identity = readFileSync(result.keyFile, 'utf8').trim().split('\n').at(-1)!;
    const secret = (await sopsDecrypt(readFileSync(encryptedFile(ws), 'utf8'), [identity])).documents[0];
    expect(secret.stringData.token).toBe(read(tokenFile(ws)));
    expect((await payloadUrls('staging', { ...ws, env: {} })).receivers[0].path).toBe(hookPath(read(tokenFile(ws))!));
  });
});

function readdirNames(folder: string): string[] {
  return readdirSync(folder).sort();
}
