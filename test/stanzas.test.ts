// Issue 20, item 5: every age stanza of a committed encrypted Secret is checked against its
// recipient, and the file is bound to its cluster. Real crypto throughout: the age library for the
// stanzas an attacker would write, the real age CLI to confirm whose they are, synth, doctor,
// take-token and bind as the commands a user runs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { armor, Decrypter, Encrypter } from 'age-encryption';
import { parse } from 'yaml';
import { synthesize } from '../lib/synth';
import { encryptSecretFile } from '../lib/secrets/encrypted-secret';
import { readSopsMetadata, sopsDecrypt } from '../lib/secrets/sops';
import { doctor } from '../tools/webhook/doctor';
import { bindSecret, takeToken } from '../tools/secrets';
import { ageDecrypt, ageKeygen, AgeKey } from './support/age';
import { oneLine, PROCESS_TEST_TIMEOUT, runScript } from './support/cli';
import { testWith } from './support/external-tools';
import { sopsFleet } from './support/fleet';
import { readTree, workspace, Workspace, writeFile } from './support/tree';
import { CLUSTER_FILES } from '../lib/layout';

jest.setTimeout(PROCESS_TEST_TIMEOUT);

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Entry {
  readonly enc: string;
  readonly recipient: string;
}

/** staging (and, with `production`, a second cluster) encrypted for `recipients`. */
const encryptedFile = (ws: Workspace, cluster = 'staging') => join(ws.distDir, 'clusters', cluster, CLUSTER_FILES.encryptedTokenSecret);
const tokenFile = (ws: Workspace) => join(ws.secretsDir, 'staging', 'webhook-token');

/** K1 and K2 are the fleet's recipients, K1's key is in secrets/staging/age.agekey; K3 is an outsider's. */
async function keysAndWorkspace(production = false): Promise<{ ws: Workspace; k1: AgeKey; k2: AgeKey; k3: AgeKey }> {
  const scratch = workspace('clusters: {}\n');
  roots.push(scratch.root);
  const [k1, k2, k3] = await Promise.all([1, 2, 3].map((n) => ageKeygen(join(scratch.root, `k${n}`))));
  const ws = workspace(sopsFleet([k1.recipient, k2.recipient], production));
  roots.push(ws.root);
  writeFile(join(ws.secretsDir, 'staging', 'age.agekey'), readFileSync(k1.file, 'utf8'));
  // The first synth generates the tokens and encrypts them for K1 and K2.
  await synthesize({ ...ws, env: {} });
  return { ws, k1, k2, k3 };
}

function entriesOf(text: string): Entry[] {
  return parse(text.split('\n').filter((line) => !line.startsWith('#')).join('\n')).sops.age;
}

/** The file with its `age:` list replaced, written as sops writes it (block-literal armor). */
function withEntries(text: string, entries: readonly Entry[]): string {
  const block = entries.map(({ enc, recipient }) => [
    '        - enc: |',
    ...enc.trimEnd().split('\n').map((line) => `              ${line}`),
    `          recipient: ${recipient}`,
  ].join('\n')).join('\n');
  const replaced = text.replace(/\n {4}age:\n[\s\S]*?\n(?= {4}encrypted_regex:)/, `\n    age:\n${block}\n`);
  expect(replaced).not.toBe(text);
  return replaced;
}

/** The data key, read from the stanza `key` opens with the age library. */
async function dataKeyOf(entry: Entry, key: AgeKey): Promise<Uint8Array> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(key.identity);
  return decrypter.decrypt(armor.decode(entry.enc));
}

/** A stanza for `recipient` holding `dataKey`, as sops writes one (an age file of its own, armored). */
async function stanzaFor(recipient: string, dataKey: Uint8Array): Promise<string> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return armor.encode(await encrypter.encrypt(dataKey));
}

function tamper(ws: Workspace, edit: (entries: Entry[]) => Entry[] | Promise<Entry[]>): Promise<string> {
  const text = readFileSync(encryptedFile(ws), 'utf8');
  return Promise.resolve(edit(entriesOf(text))).then((entries) => {
    const tampered = withEntries(text, entries);
    writeFileSync(encryptedFile(ws), tampered);
    return tampered;
  });
}

/** One line on stderr, exit 1, matching `message`, and dist/ as it was. */
function expectRefusal(result: { status: number | null; stderr: string }, message: RegExp): void {
  expect(oneLine(result.stderr)).toMatch(message);
  expect(result.status).toBe(1);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('K2\'s stanza replaced by one for K3, holding the same data key', () => {
  async function replaced() {
    const setup = await keysAndWorkspace();
    const { ws, k1, k3 } = setup;
    const token = readFileSync(tokenFile(ws), 'utf8');
    const text = await tamper(ws, async ([own, theirs]) => [own, { enc: await stanzaFor(k3.recipient, await dataKeyOf(own, k1)), recipient: theirs.recipient }]);
    return { ...setup, token, text, dist: readTree(ws.distDir) };
  }

  test('is refused by synth and doctor wherever K2\'s or K3\'s key is at hand, dist/ kept', async () => {
    const { ws, k2, k3, text, dist } = await replaced();
    // K1 (age.agekey) and K2 together: K2's own key does not open the stanza labelled K2.
    const withK2 = { SOPS_AGE_KEY_FILE: k2.file };
    const labelled = new RegExp(`${escape(encryptedFile(ws))}: its age stanzas do not match their recipients: sops\\.age\\[1\\] is labelled ${k2.recipient}, but that recipient's key \\(${escape(k2.file)}\\) does not open it: the stanza was replaced or edited; it is left as it is: restore it from git`);
    expectRefusal(runScript(ws, 'synth', [], withK2), labelled);
    const report = runScript(ws, 'webhook', ['doctor', 'staging'], withK2);
    expect(report.status).toBe(1);
    expect(report.stdout).toMatch(labelled);
    // The outsider's key opens a stanza labelled for someone else.
    expectRefusal(runScript(ws, 'synth', [], { SOPS_AGE_KEY: k3.identity }), new RegExp(`sops\\.age\\[1\\] is labelled ${k2.recipient}, but it opens with the key in SOPS_AGE_KEY \\(${k3.recipient}\\): its label was swapped or the stanza copied`));
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readFileSync(encryptedFile(ws), 'utf8')).toBe(text);
  });

  test('passes with K1 alone, as documented: only the labels can be checked, and they are the fleet\'s', async () => {
    const { ws, k1, k2, token, dist } = await replaced();
    // An X25519 stanza names no recipient: without K2's (or K3's) key, nothing tells whose it is.
    expect(readSopsMetadata(readFileSync(encryptedFile(ws), 'utf8')).recipients).toEqual([k1.recipient, k2.recipient]);
    const synth = runScript(ws, 'synth');
    expect([synth.status, synth.stderr]).toEqual([0, 'dist: up to date\n']);
    expect(readTree(ws.distDir)).toEqual(dist);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toEqual([]);
    expect((await sopsDecrypt(readFileSync(encryptedFile(ws), 'utf8'), [k1.identity])).documents[0].stringData.token).toBe(token);
  });

  testWith('age', 'the real age CLI confirms the replaced stanza is K3\'s, not K2\'s', async () => {
    const { ws, k1, k2, k3 } = await replaced();
    const [own, replacedEntry] = entriesOf(readFileSync(encryptedFile(ws), 'utf8'));
    expect(ageDecrypt(replacedEntry.enc, k3)).toEqual(ageDecrypt(own.enc, k1));
    const asK2 = spawnSync('age', ['--decrypt', '-i', k2.file], { input: replacedEntry.enc, encoding: 'utf8' });
    expect([asK2.status, asK2.stderr]).toEqual([1, expect.stringContaining('no identity matched any of the recipients')]);
  });
});

describe('stanzas that do not match their labels', () => {
  test('swapped labels are refused with either swapped key at hand; without a key they cannot be told', async () => {
    const { ws, k1, k2 } = await keysAndWorkspace();
    await tamper(ws, ([first, second]) => [{ enc: first.enc, recipient: second.recipient }, { enc: second.enc, recipient: first.recipient }]);
    const dist = readTree(ws.distDir);
    const opensWith = (key: AgeKey, origin: string, index: number, label: string) => new RegExp(`sops\\.age\\[${index}\\] is labelled ${label}, but it opens with the key in ${escape(origin)} \\(${key.recipient}\\)`);
    // K1 alone (the cluster's own key file).
    expectRefusal(runScript(ws, 'synth'), opensWith(k1, join(ws.secretsDir, 'staging', 'age.agekey'), 0, k2.recipient));
    const report = runScript(ws, 'webhook', ['doctor', 'staging']);
    expect([report.status, report.stdout]).toEqual([1, expect.stringMatching(opensWith(k1, join(ws.secretsDir, 'staging', 'age.agekey'), 0, k2.recipient))]);
    // K2 alone.
    rmSync(join(ws.secretsDir, 'staging', 'age.agekey'));
    rmSync(`${tokenFile(ws)}.committed`);
    expectRefusal(runScript(ws, 'synth', [], { SOPS_AGE_KEY_FILE: k2.file }), new RegExp(`sops\\.age\\[0\\] is labelled ${k2.recipient}, but that recipient's key \\(${escape(k2.file)}\\) does not open it`));
    // No key: the labels are the fleet's, and an X25519 stanza names nobody.
    const keyless = runScript(ws, 'synth', [], { FLUX_INFRA_NO_SECRETS: '1' });
    expect([keyless.status, keyless.stderr]).toEqual([0, 'dist: up to date\n']);
    expect(readTree(ws.distDir)).toEqual(dist);
  });

  test.each([
    ['a stanza copied under another label', (entries: Entry[]) => [entries[0], { enc: entries[0].enc, recipient: entries[1].recipient }], /sops\.age\[1\]\.enc is a copy of sops\.age\[0\]\.enc/],
    ['a recipient listed twice', (entries: Entry[]) => [entries[0], { enc: entries[1].enc, recipient: entries[0].recipient }], /sops\.age\[1\] names age1\w+ again \(as sops\.age\[0\]\)/],
  ])('%s is refused without any key, by synth and doctor', async (_what, edit, message) => {
    const { ws } = await keysAndWorkspace();
    await tamper(ws, edit);
    const dist = readTree(ws.distDir);
    expectRefusal(runScript(ws, 'synth', [], { FLUX_INFRA_NO_SECRETS: '1' }), message);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toContainEqual(expect.stringMatching(message));
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(message);
    expect(readTree(ws.distDir)).toEqual(dist);
  });

  test('an age file with a second stanza (K3\'s beside K1\'s) is refused without any key', async () => {
    const { ws, k1, k3 } = await keysAndWorkspace();
    await tamper(ws, async ([own, other]) => {
      const encrypter = new Encrypter();
      encrypter.addRecipient(k1.recipient);
      encrypter.addRecipient(k3.recipient);
      return [{ enc: armor.encode(await encrypter.encrypt(await dataKeyOf(own, k1))), recipient: own.recipient }, other];
    });
    await expect(synthesize({ ...ws, secrets: false })).rejects.toThrow(/its sops\.age\[0\]\.enc must hold exactly one X25519 stanza for age1\w+, but holds X25519, X25519; it is left as it is/);
  });

  test('a stanza holding another data key is refused where both keys are at hand', async () => {
    const { ws, k2 } = await keysAndWorkspace();
    await tamper(ws, async ([own, other]) => [own, { enc: await stanzaFor(other.recipient, new Uint8Array(32).fill(7)), recipient: other.recipient }]);
    await expect(synthesize({ ...ws, env: { SOPS_AGE_KEY_FILE: k2.file } })).rejects.toThrow(/sops\.age\[1\] \(age1\w+\) opens to another data key than the stanza of age1\w+: a stanza was replaced/);
  });

  test('a missing stanza: refused without a key, and re-encrypted for every recipient with one', async () => {
    const { ws, k2 } = await keysAndWorkspace();
    const token = readFileSync(tokenFile(ws), 'utf8');
    await tamper(ws, ([own]) => [own]);
    const keyless = runScript(ws, 'synth', [], { FLUX_INFRA_NO_SECRETS: '1' });
    expectRefusal(keyless, /webhook-token-secret\.sops\.yaml must be re-encrypted \(its age recipients changed\), which needs a key that opens it now/);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toContainEqual(expect.stringMatching(/must be re-encrypted \(its age recipients changed\)/));
    // K1's key restores K2's stanza, with the token K1's opens.
    expect((await synthesize({ ...ws, env: {} })).encrypted).toEqual(['clusters/staging/webhook-token-secret.sops.yaml (its age recipients changed)']);
    expect((await sopsDecrypt(readFileSync(encryptedFile(ws), 'utf8'), [k2.identity])).documents[0].stringData.token).toBe(token);
  });
});

describe('a file bound to its cluster', () => {
  test('another cluster\'s file copied over this one is refused by name by synth, doctor and take-token, never adopted', async () => {
    const { ws } = await keysAndWorkspace(true);
    const token = readFileSync(tokenFile(ws), 'utf8');
    copyFileSync(encryptedFile(ws, 'production'), encryptedFile(ws));
    const dist = readTree(ws.distDir);
    const message = new RegExp(`^(synth failed[^:]*: )?${escape(encryptedFile(ws))}: it is the token Secret of cluster "production" \\(its flux-infra\\.io/cluster annotation\\), not of staging: it was copied from there; it is left as it is: restore it from git`);
    for (const env of [{}, { FLUX_INFRA_NO_SECRETS: '1' }]) expectRefusal(runScript(ws, 'synth', [], env), message);
    const report = runScript(ws, 'webhook', ['doctor', 'staging']);
    expect(report.status).toBe(1);
    expect(report.stdout).toContain('it is the token Secret of cluster "production"');
    expect(`${report.stdout}${report.stderr}`).not.toContain('take-token');
    const take = runScript(ws, 'secrets', ['take-token', 'staging']);
    expect(take.status).toBe(1);
    expect(take.stderr).toContain('it is the token Secret of cluster "production"');
    expect(readFileSync(tokenFile(ws), 'utf8')).toBe(token);
    expect(readTree(ws.distDir)).toEqual(dist);
  });

  test('the annotation is covered by the MAC: relabelling the copy as staging\'s fails where a key is', async () => {
    const { ws } = await keysAndWorkspace(true);
    writeFileSync(encryptedFile(ws), readFileSync(encryptedFile(ws, 'production'), 'utf8').replace('flux-infra.io/cluster: production', 'flux-infra.io/cluster: staging'));
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/it was edited after encryption: .*MAC mismatch/);
    await expect(takeToken('staging', { ...ws, env: {} })).rejects.toThrow(/MAC mismatch/);
  });

  test('a file an older version wrote, bound to no cluster, is refused with how to bind it; bind keeps its token', async () => {
    const { ws, k1, k2 } = await keysAndWorkspace();
    const token = readFileSync(tokenFile(ws), 'utf8');
    const old = await encryptSecretFile(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-token\n  namespace: flux-system\nstringData:\n  token: ${token}\ntype: Opaque\n`, { recipients: [k1.recipient, k2.recipient], now: new Date() });
    writeFileSync(encryptedFile(ws), old);
    const message = /webhook-token-secret\.sops\.yaml: it is bound to no cluster \(no flux-infra\.io\/cluster annotation: an older flux-infra wrote it\); if it is staging's own \(git log -- .*\), bind it where its age key is: npm run secrets -- bind staging; otherwise rotate the token$/;
    for (const env of [{}, { FLUX_INFRA_NO_SECRETS: '1' }]) expectRefusal(runScript(ws, 'synth', [], env), message);
    expect((await doctor('staging', { ...ws, env: {} })).problems).toContainEqual(expect.stringMatching(message));
    await expect(takeToken('staging', { ...ws, env: {} })).rejects.toThrow(message);

    // Without a key, bind cannot open it; nothing is written.
    const keyless = { ...ws, secretsDir: join(ws.root, 'keyless') };
    await expect(bindSecret('staging', { ...keyless, env: {} })).rejects.toThrow(/is bound to no cluster, and binding it needs a key that opens it now/);
    expect(readFileSync(encryptedFile(ws), 'utf8')).toBe(old);

    const bind = runScript(ws, 'secrets', ['bind', 'staging']);
    expect([bind.status, bind.stdout]).toEqual([0, `${encryptedFile(ws)} is now bound to staging: commit and push it\n`]);
    const bound = readFileSync(encryptedFile(ws), 'utf8');
    expect(parse(bound).metadata.annotations).toEqual({ 'flux-infra.io/cluster': 'staging' });
    for (const key of [k1, k2]) expect((await sopsDecrypt(bound, [key.identity])).documents[0].stringData.token).toBe(token);
    expect(runScript(ws, 'synth').stderr).toBe('dist: up to date\n');
    expect(runScript(ws, 'secrets', ['bind', 'staging']).stdout).toBe(`${encryptedFile(ws)} is bound to staging already\n`);
  });

  test('the bound file is still what sops and Flux decrypt: an independent decryptor reads the annotation and the token', async () => {
    const { ws, k1 } = await keysAndWorkspace();
    const { decryptSops } = await import('sops-age');
    const secret = await decryptSops(readFileSync(encryptedFile(ws), 'utf8'), { secretKey: k1.identity, fileType: 'yaml' }) as any;
    expect(secret.metadata).toEqual({ annotations: { 'flux-infra.io/cluster': 'staging' }, labels: { 'reconcile.fluxcd.io/watch': 'Enabled' }, name: 'webhook-token', namespace: 'flux-system' });
    expect(secret.stringData.token).toBe(readFileSync(tokenFile(ws), 'utf8'));
  });
});
