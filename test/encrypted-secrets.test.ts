import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, parseDocument } from 'yaml';
import { synthesize } from '../lib/synth';
import { sopsDecrypt } from '../lib/secrets/sops';
import { encryptSecretFile, inspectEncryptedSecret, planEncryptedSecret } from '../lib/secrets/encrypted-secret';
import { createAgeKey, rotateToken, run } from '../tools/secrets';
import { ageKeygen, AgeKey } from './support/age';
import { runScript } from './support/cli';
import { testWith } from './support/external-tools';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { modeOf, readTree, workspace, Workspace, writeFile } from './support/tree';
import { CLUSTER_FILES } from '../lib/layout';

function fleetFor(recipients: string[], address?: string): string {
  const document = parseDocument(BASE_FLEET);
  document.setIn(['clusters', 'staging', 'sops'], { ageRecipients: recipients });
  if (address) document.setIn(['clusters', 'staging', 'webhook', 'address'], address);
  return document.toString();
}

function paths(ws: Workspace) {
  return {
    encrypted: join(ws.distDir, 'clusters', 'staging', CLUSTER_FILES.encryptedTokenSecret),
    token: join(ws.secretsDir, 'staging', 'webhook-token'),
    sopsConfig: ws.sopsConfigFile,
  };
}

function options(ws: Workspace) {
  return { ...ws, env: {} };
}

async function decryptedToken(file: string, key: AgeKey): Promise<string> {
  return (await sopsDecrypt(readFileSync(file, 'utf8'), [key.identity])).documents[0].stringData.token;
}

describe('a cluster with age recipients', () => {
  test('gets its token Secret encrypted into dist/, decryptable with its key, and no plaintext manifest', async () => {
    const key = await ageKeygen();
    const ws = workspace(fleetFor([key.recipient]));
    const result = await synthesize(options(ws));
    const { encrypted, token, sopsConfig } = paths(ws);
    expect(result.encrypted).toEqual(['clusters/staging/webhook-token-secret.sops.yaml (new)']);
    expect(await decryptedToken(encrypted, key)).toBe(readFileSync(token, 'utf8'));
    expect(readFileSync(encrypted, 'utf8')).not.toContain(readFileSync(token, 'utf8'));
    expect(existsSync(join(ws.secretsDir, 'staging', 'webhook-token-secret.yaml'))).toBe(false);
    expect(parse(readFileSync(sopsConfig, 'utf8'))).toEqual({
      creation_rules: [{ path_regex: '^(dist/clusters/staging|secrets/staging)/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: key.recipient }],
    });
  });

  testWith('kubectl', 'the flux-system kustomization makes Flux decrypt with Secret sops-age (kubectl kustomize)', async () => {
    const ws = workspace(fleetFor([(await ageKeygen()).recipient]));
    await synthesize(options(ws));
    const fluxSystem = join(ws.distDir, 'clusters', 'staging', 'flux-system');
    for (const file of ['gotk-components.yaml', 'gotk-sync.yaml']) cpSync(join(__dirname, 'fixtures', file), join(fluxSystem, file));
    const built = parseAllDocuments(execFileSync('kubectl', ['kustomize', fluxSystem], { encoding: 'utf8' })).map((document) => document.toJS());
    const sync = built.find((object) => object.kind === 'Kustomization' && object.metadata.name === 'flux-system');
    expect(sync.spec.decryption).toEqual({ provider: 'sops', secretRef: { name: 'sops-age' } });
    expect(sync.spec.path).toBe('./dist/clusters/staging');
    expect(built.find((object) => object.kind === 'Service' && object.metadata.name === 'webhook-receiver').spec.type).toBe('NodePort');
  });

  test('stays byte for byte the same: again, without secrets, and in a fresh clone with neither token nor key', async () => {
    const key = await ageKeygen();
    const ws = workspace(fleetFor([key.recipient]));
    await synthesize(options(ws));
    const before = readTree(ws.distDir);
    expect((await synthesize(options(ws))).dist.changed).toBe(false);
    expect((await synthesize({ ...options(ws), secrets: false })).dist.changed).toBe(false);

    const clone = workspace(fleetFor([key.recipient]));
    cpSync(ws.distDir, clone.distDir, { recursive: true });
    const result = await synthesize(options(clone));
    expect(result.dist.changed).toBe(false);
    expect(result.generatedTokens).toEqual([]);
    expect(result.notes).toEqual([expect.stringContaining('staging: the webhook token is only in')]);
    expect(existsSync(paths(clone).token)).toBe(false);
    expect(readTree(clone.distDir)).toEqual(before);
  });

  test('is re-encrypted when the recipients change, with the committed token read with a key, and only then', async () => {
    const [a, b] = await Promise.all([ageKeygen(), ageKeygen()]);
    const ws = workspace(fleetFor([a.recipient]));
    await synthesize(options(ws));
    const token = readFileSync(paths(ws).token, 'utf8');
    writeFile(ws.fleetFile, fleetFor([a.recipient, b.recipient]));
    const withKey = { ...options(ws), env: { SOPS_AGE_KEY_FILE: a.file } };
    expect((await synthesize(withKey)).encrypted).toEqual(['clusters/staging/webhook-token-secret.sops.yaml (its age recipients changed)']);
    for (const key of [a, b]) expect(await decryptedToken(paths(ws).encrypted, key)).toBe(token);
    const committed = readFileSync(paths(ws).encrypted, 'utf8');
    expect((await synthesize(withKey)).encrypted).toEqual([]);
    // A token in the environment never replaces the committed one: only rotate-token changes it.
    await expect(synthesize({ ...options(ws), env: { SOPS_AGE_KEY_FILE: a.file, FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } }))
      .rejects.toThrow(/FLUX_INFRA_WEBHOOK_TOKEN_STAGING holds another token than the committed .*: unset it/);
    expect(readFileSync(paths(ws).encrypted, 'utf8')).toBe(committed);
  });

  test('holds nothing that depends on the token but the SOPS ciphertexts', async () => {
    const ws = workspace(fleetFor([(await ageKeygen()).recipient]));
    await synthesize(options(ws));
    const text = readFileSync(paths(ws).encrypted, 'utf8');
    expect(text).not.toMatch(/fingerprint|scrypt/);
    const comments = text.split('\n').filter((line) => line.startsWith('#'));
    expect(comments).toEqual([expect.stringMatching(/^# Generated by flux-infra/), expect.stringMatching(/^# Encrypted with SOPS/)]);
  });
});

describe('bad input keeps dist/ and the secrets folder as they were', () => {
  async function prepared() {
    const key = await ageKeygen();
    const ws = workspace(fleetFor([key.recipient]));
    await synthesize(options(ws));
    return { key, ws, dist: readTree(ws.distDir), secrets: readTree(ws.secretsDir) };
  }

  test('fails where recipients changed but no token known to be the committed one is at hand', async () => {
    const { ws, dist } = await prepared();
    writeFile(ws.fleetFile, fleetFor([(await ageKeygen()).recipient]));
    await expect(synthesize({ ...options(ws), secrets: false })).rejects.toThrow(/webhook-token-secret\.sops\.yaml must be re-encrypted \(its age recipients changed\), which needs a key that opens it now/);
    // A local token never checked against the committed file is not enough: it may be stale.
    rmSync(`${paths(ws).token}.committed`);
    await expect(synthesize(options(ws))).rejects.toThrow(/must be re-encrypted \(its age recipients changed\), which needs a key that opens it now .*rotate-token staging/);
    expect(readTree(ws.distDir)).toEqual(dist);
  });

  test('re-encrypts with a local token that a key showed to be the committed one, while the file is unchanged', async () => {
    const { ws } = await prepared();
    expect(JSON.parse(readFileSync(`${paths(ws).token}.committed`, 'utf8'))).toEqual({ committed: expect.stringMatching(/^[0-9a-f]{64}$/), token: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const other = await ageKeygen();
    writeFile(ws.fleetFile, fleetFor([other.recipient]));
    expect((await synthesize(options(ws))).encrypted).toEqual(['clusters/staging/webhook-token-secret.sops.yaml (its age recipients changed)']);
    expect(await decryptedToken(paths(ws).encrypted, other)).toBe(readFileSync(paths(ws).token, 'utf8'));
  });

  test.each([
    ['corrupt', (text: string) => text.replace(/\nsops:[\s\S]*$/, '\n'), /sops\.yaml: it has no sops: block; it is left as it is: restore it from git/],
    ['foreign', (text: string) => text.split('\n').slice(1).join('\n'), /sops\.yaml: it was not written by flux-infra/],
    ['not YAML', () => '# Generated by flux-infra from the fleet file (npm run synth). Do not edit: change the fleet file.\n: [', /sops\.yaml: it is not valid YAML/],
  ])('fails on a %s encrypted file, with or without the token, never overwriting it', async (_what, damage, message) => {
    const { ws, secrets } = await prepared();
    const { encrypted } = paths(ws);
    writeFile(encrypted, damage(readFileSync(encrypted, 'utf8')));
    const dist = readTree(ws.distDir);
    await expect(synthesize(options(ws))).rejects.toThrow(message);
    await expect(synthesize({ ...options(ws), secrets: false })).rejects.toThrow(message);
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readTree(ws.secretsDir)).toEqual(secrets);
  });

  test.each([
    ['an invalid recipient', ['age1notakey'], /clusters\.staging\.sops\.ageRecipients\[0\]: "age1notakey" is not a valid age recipient/],
    ['a private key as recipient', ['AGE-SECRET-KEY-1QQQ'], /clusters\.staging\.sops\.ageRecipients\[0\]: an age secret key \(AGE-SECRET-KEY-\.\.\., not shown\) is not a recipient: put its public key \(age1\.\.\., age-keygen -y prints it\) here/],
    ['no recipient for a cluster that asks for encryption', [], /clusters\.staging\.sops\.ageRecipients: has no recipient, but this cluster asks for encrypted secrets/],
  ])('fails on %s in the fleet file', async (_what, recipients, message) => {
    const { ws, dist, secrets } = await prepared();
    writeFile(ws.fleetFile, fleetFor(recipients as string[]));
    await expect(synthesize(options(ws))).rejects.toThrow(message);
    expect(readTree(ws.distDir)).toEqual(dist);
    expect(readTree(ws.secretsDir)).toEqual(secrets);
  });

  test('fails on a hand-written .sops.yaml, and never replaces it', async () => {
    const ws = workspace(fleetFor([(await ageKeygen()).recipient]));
    writeFile(paths(ws).sopsConfig, 'creation_rules: []\n');
    await expect(synthesize(options(ws))).rejects.toThrow(/\.sops\.yaml was not written by flux-infra/);
    expect(readFileSync(paths(ws).sopsConfig, 'utf8')).toBe('creation_rules: []\n');
    expect(existsSync(ws.distDir)).toBe(false);
  });
});

describe('npm run secrets', () => {
  testWith('age', 'age-key writes a key file the real age CLI accepts', async () => {
    const ws = workspace(BASE_FLEET);
    const result = await createAgeKey('staging', { ...ws });
    const sealed = execFileSync('age', ['--encrypt', '-r', result.recipient, '-a'], { input: 'hello' });
    expect(execFileSync('age', ['--decrypt', '-i', result.keyFile], { input: sealed }).toString()).toBe('hello');
  });

  test('age-key creates the private key (0600, age-keygen format) and adds the public key to the fleet file', async () => {
    const ws = workspace(BASE_FLEET);
    const result = await createAgeKey('staging', { ...ws, writeFleet: true, now: new Date('2026-11-25T00:00:00Z') });
    expect(modeOf(result.keyFile)).toBe(0o600);
    const text = readFileSync(result.keyFile, 'utf8');
    expect(text).toMatch(new RegExp(`^# created: 2026-11-25T00:00:00Z\\n# public key: ${result.recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`));
    expect(parse(readFileSync(ws.fleetFile, 'utf8')).clusters.staging.sops).toEqual({ ageRecipients: [result.recipient] });
    await expect(createAgeKey('staging', { ...ws })).rejects.toThrow(/age\.agekey exists already; it is kept/);
    await expect(createAgeKey('nope', { ...ws })).rejects.toThrow('cluster "nope" is not in');
  });

  test('age-key tells to create the sops-age Secret in the cluster\'s own Flux namespace', () => {
    const document = parseDocument(BASE_FLEET);
    document.setIn(['clusters', 'staging', 'namespace'], 'flux-ops');
    const ws = workspace(document.toString());
    const result = runScript(ws, 'secrets', ['age-key', 'staging']);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`kubectl -n flux-ops create secret generic sops-age --from-file=age.agekey=${join(ws.secretsDir, 'staging', 'age.agekey')}\n`);
  });

  test('rotate-token makes a new token, keeps the old, re-encrypts, and gives the new Payload URL', async () => {
    const key = await ageKeygen();
    const ws = workspace(fleetFor([key.recipient], '203.0.113.10'));
    await synthesize(options(ws));
    const old = readFileSync(paths(ws).token, 'utf8');
    const result = await rotateToken('staging', options(ws));
    expect(result.token).toMatch(/^[0-9a-f]{64}$/);
    expect(result.token).not.toBe(old);
    expect(readFileSync(paths(ws).token, 'utf8')).toBe(result.token);
    expect(readFileSync(`${paths(ws).token}.previous`, 'utf8')).toBe(old);
    expect(await decryptedToken(paths(ws).encrypted, key)).toBe(result.token);
    expect(result.urls).toEqual([{ receiver: 'instavote', path: expect.stringMatching(/^\/hook\/[0-9a-f]{64}$/), url: expect.stringMatching(/^http:\/\/203\.0\.113\.10:31234\/hook\/[0-9a-f]{64}$/) }]);
  });

  test('rotate-token puts the old token back when synth fails', async () => {
    const ws = workspace(BASE_FLEET);
    await synthesize(options(ws));
    const old = readFileSync(paths(ws).token, 'utf8');
    writeFile(join(ws.distDir, 'clusters', 'staging', 'sources.yaml'), 'hand: written\n');
    await expect(rotateToken('staging', options(ws))).rejects.toThrow(/was not written by flux-infra/);
    expect(readFileSync(paths(ws).token, 'utf8')).toBe(old);
  });

  test('the command prints what to update on each Git host, and exits 1 on failure, 2 on bad usage', async () => {
    const ws = workspace(fleetFor([(await ageKeygen()).recipient]));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const saved = { ...process.env };
    Object.assign(process.env, { FLUX_INFRA_FLEET: ws.fleetFile, FLUX_INFRA_DIST: ws.distDir, FLUX_INFRA_SECRETS: ws.secretsDir, FLUX_INFRA_SOPS_CONFIG: ws.sopsConfigFile });
    const usage: string[] = [];
    const output = { writeOut: (text: string) => usage.push(text), writeErr: (text: string) => usage.push(text) };
    try {
      expect(await run(['rotate-token', 'staging'], output)).toBe(0);
      const report = String(log.mock.calls.at(-1)![0]);
      expect(report).toContain('Commit and push dist/clusters/staging/webhook-token-secret.sops.yaml');
      expect(report).toMatch(/Receiver instavote \(GitHub https:\/\/github\.com\/lfs269\/instavote\): Payload URL http:\/\/<node-address>:31234\/hook\/[0-9a-f]{64}/);
      expect(report).toContain('npm run webhook -- hook staging does it');
      expect(await run(['rotate-token', 'nope'], output)).toBe(1);
      expect(error).toHaveBeenLastCalledWith(expect.stringContaining('cluster "nope" is not in'));
      expect(await run(['rotate-token'], output)).toBe(2);
      expect(usage.join('')).toContain("missing required argument 'cluster'");
    } finally {
      process.env = saved;
      log.mockRestore();
      error.mockRestore();
    }
  });
});

describe('a committed Secret an older version wrote without the watch label', () => {
  const manifest = (labels: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-token\n  namespace: flux-system\n${labels}  annotations:\n    flux-infra.io/cluster: staging\nstringData:\n  token: ${TOKEN}\ntype: Opaque\n`;
  const labelled = manifest('  labels:\n    reconcile.fluxcd.io/watch: Enabled\n');

  async function plan(verified: boolean) {
    const key = await ageKeygen();
    const text = await encryptSecretFile(manifest(''), { recipients: [key.recipient], now: new Date() });
    const state = inspectEncryptedSecret(text);
    expect(state.watched).toBe(false);
    const result = await planEncryptedSecret({
      file: 'webhook-token-secret.sops.yaml', cluster: 'staging', committed: { text, state }, plaintext: labelled,
      rotated: false, verified, recipients: [key.recipient], namespace: 'flux-system', keyFile: 'secrets/staging/age.agekey', now: new Date(),
      missingTokenFix: () => 'not asked for here',
    });
    return { key, text, result };
  }

  test('is encrypted again with the label, same token, where its key is at hand', async () => {
    const { key, result } = await plan(true);
    expect(result.rewritten).toBe('added the reconcile.fluxcd.io/watch label, so that a new token reaches the Receiver at once');
    expect(inspectEncryptedSecret(result.content).watched).toBe(true);
    const [secret] = (await sopsDecrypt(result.content, [key.identity])).documents;
    expect([secret.metadata.labels, secret.stringData.token]).toEqual([{ 'reconcile.fluxcd.io/watch': 'Enabled' }, TOKEN]);
  });

  test('is kept byte for byte with a note saying what to run, where no key opens it', async () => {
    const { text, result } = await plan(false);
    expect(result.content).toBe(text);
    expect(result.rewritten).toBeUndefined();
    expect(result.note).toBe('webhook-token-secret.sops.yaml lacks the reconcile.fluxcd.io/watch label older versions left out, so a new token reaches the Receiver only at its interval (10 minutes): run npm run synth where its age key is, or rotate the token');
  });
});
