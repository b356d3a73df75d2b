// A working copy someone tampered with: links planted where synth reads or writes, a secrets folder
// others can write to, leftovers of killed writers. Each is refused in one line, and nothing outside
// the repository is read, written or chmod-ed.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesize } from '../lib/synth';
import { payloadUrls } from '../tools/webhook/url';
import { BASE_FLEET } from './support/fleet';
import { TOKEN } from './support/synth';
import { modeOf, readTree, workspace, Workspace, writeFile } from './support/tree';

const fleet = BASE_FLEET.replace('nodePort: 31234', 'nodePort: 31234\n      address: 203.0.113.10');

/** A folder outside the repository holding what an attacker wants read or leaked. */
function outside(ws: Workspace): string {
  const folder = `${ws.root}-outside`;
  mkdirSync(folder, { mode: 0o755 });
  writeFileSync(join(folder, 'id_ed25519'), 'PRIVATE KEY');
  writeFileSync(join(folder, 'webhook-token'), TOKEN);
  return folder;
}

function snapshot(folder: string) {
  return { tree: readTree(folder), mode: modeOf(folder) };
}

describe('a symbolic link planted', () => {
  test.each([
    ['as dist/', (ws: Workspace, target: string) => symlinkSync(target, ws.distDir), (ws: Workspace) => ws.distDir],
    ['as .dist.old after a killed swap', (ws: Workspace, target: string) => symlinkSync(target, join(ws.root, '.dist.old')), (ws: Workspace) => join(ws.root, '.dist.old')],
    ['as .dist.next', (ws: Workspace, target: string) => symlinkSync(target, join(ws.root, '.dist.next')), (ws: Workspace) => join(ws.root, '.dist.next')],
    ['as secrets/', (ws: Workspace, target: string) => symlinkSync(target, ws.secretsDir), (ws: Workspace) => ws.secretsDir],
    ['as secrets/<cluster>', (ws: Workspace, target: string) => {
      mkdirSync(ws.secretsDir, { mode: 0o700 });
      symlinkSync(target, join(ws.secretsDir, 'staging'));
    }, (ws: Workspace) => join(ws.secretsDir, 'staging')],
    ['as the token file', (ws: Workspace, target: string) => {
      mkdirSync(join(ws.secretsDir, 'staging'), { recursive: true, mode: 0o700 });
      symlinkSync(join(target, 'webhook-token'), join(ws.secretsDir, 'staging', 'webhook-token'));
    }, (ws: Workspace) => join(ws.secretsDir, 'staging', 'webhook-token')],
  ])('%s is refused in one line, and the folder it points at is left alone', async (_what, plant, link) => {
    const ws = workspace(fleet);
    const target = outside(ws);
    plant(ws, target);
    const before = snapshot(target);
    const failure = await synthesize({ ...ws, env: {} }).then(() => 'synthesized', (error: Error) => error.message);
    expect(failure).toBe(`${link(ws)} is a symbolic link, which flux-infra never follows: replace it with a real folder or file (and check where it pointed)`);
    expect(snapshot(target)).toEqual(before);
    await expect(payloadUrls('staging', { ...ws, env: {} })).rejects.toThrow(/is a symbolic link, which flux-infra never follows/);
  });

  test('inside dist/ where synth writes is refused; elsewhere in dist/ it is kept as a link, never followed', async () => {
    const ws = workspace(fleet);
    const target = outside(ws);
    mkdirSync(join(ws.distDir, 'clusters'), { recursive: true });
    symlinkSync(target, join(ws.distDir, 'clusters', 'notes'));
    await synthesize({ ...ws, env: {} });
    expect(readdirSync(join(ws.distDir, 'clusters')).sort()).toEqual(['notes', 'staging']);
    symlinkSync(target, join(ws.distDir, 'clusters', 'staging', 'flux-system-link'));
    renameSync(join(ws.distDir, 'clusters', 'staging', 'flux-system'), join(ws.root, 'moved'));
    symlinkSync(target, join(ws.distDir, 'clusters', 'staging', 'flux-system'));
    const before = snapshot(target);
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(`${join(ws.distDir, 'clusters', 'staging', 'flux-system')} is a symbolic link where synth writes`);
    expect(snapshot(target)).toEqual(before);
  });
});

test('a link below dist/ on the way to the committed Secret is refused by synth and the webhook commands', async () => {
  const ws = workspace(`${fleet}    sops:\n      ageRecipients: [age1sf4nlq82zj0yffjwu7dw339z86tvfzmqyxzk22e5y8t309q4s97sqy4rfw]\n`);
  const target = outside(ws);
  mkdirSync(join(target, 'staging'));
  writeFileSync(join(target, 'staging', 'webhook-token-secret.sops.yaml'), 'planted');
  mkdirSync(ws.distDir);
  symlinkSync(target, join(ws.distDir, 'clusters'));
  const message = `${join(ws.distDir, 'clusters')} is a symbolic link, which flux-infra never follows`;
  await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(message);
  await expect(payloadUrls('staging', { ...ws, env: { FLUX_INFRA_WEBHOOK_TOKEN_STAGING: TOKEN } })).rejects.toThrow(message);
  expect(readFileSync(join(target, 'staging', 'webhook-token-secret.sops.yaml'), 'utf8')).toBe('planted');
});

describe('a secrets folder others could have planted files in', () => {
  test.each([
    ['group-writable', 0o770, /can be written by others \(mode 770\): check its files, then chmod 700/],
    ['world-writable', 0o777, /can be written by others \(mode 777\)/],
  ])('%s is refused before any token in it is read', async (_what, mode, message) => {
    const ws = workspace(fleet);
    writeFile(join(ws.secretsDir, 'staging', 'webhook-token'), TOKEN);
    chmodSync(ws.secretsDir, mode);
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(message);
    await expect(payloadUrls('staging', { ...ws, env: {} })).rejects.toThrow(message);
    expect(modeOf(ws.secretsDir)).toBe(mode);
    expect(existsSync(ws.distDir)).toBe(false);
  });
});

test('leftovers of killed writers are removed under the lock, and git ignores them meanwhile', async () => {
  const ws = workspace(fleet);
  await synthesize({ ...ws, env: {} });
  const leftovers = [
    `${ws.sopsConfigFile}.0123456789ab.tmp`, `${ws.fleetFile}.0123456789ab.tmp`,
    join(ws.root, '.flux-infra.lock.0123456789ab.tmp'), join(ws.secretsDir, 'staging', 'webhook-token.0123456789ab.tmp'),
  ];
  for (const file of leftovers) writeFileSync(file, 'half');
  // A lock's temporary file may belong to a process creating it right now: only an old one is a leftover.
  const fresh = join(ws.root, '.flux-infra.lock.ba9876543210.tmp');
  writeFileSync(fresh, 'creating');
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(join(ws.root, '.flux-infra.lock.0123456789ab.tmp'), old, old);
  const mine = join(ws.root, 'fleet.yaml.notes.tmp');
  writeFileSync(mine, 'mine');
  await synthesize({ ...ws, env: {} });
  for (const file of leftovers) expect({ file, exists: existsSync(file) }).toEqual({ file, exists: false });
  expect(existsSync(fresh)).toBe(true);
  expect(readFileSync(mine, 'utf8')).toBe('mine');
  const ignored = readFileSync(join(__dirname, '..', '.gitignore'), 'utf8');
  for (const pattern of ['/.flux-infra.lock*', '/fleet.yaml.*.tmp', '/.sops.yaml.*.tmp', 'secrets/']) expect(ignored).toContain(pattern);
  expect(statSync(ws.secretsDir).isDirectory()).toBe(true);
});

test('a tree that cannot be written fails in one line, leaves no .dist.next behind and puts back what it moved', async () => {
  const ws = workspace(fleet);
  await synthesize({ ...ws, env: {} });
  const before = readTree(ws.distDir);
  // A folder where synth must write a file: the new tree cannot be built.
  rmSync(join(ws.distDir, 'clusters', 'staging', 'apps.yaml'));
  writeFile(join(ws.distDir, 'clusters', 'staging', 'apps.yaml', 'mine.txt'), 'mine');
  delete before[join('clusters', 'staging', 'apps.yaml')];
  writeFile(ws.fleetFile, fleet.replace('interval: 1h', 'interval: 2h'));
  await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/^cannot replace the changed files of .*dist \(EISDIR\): check that .*dist and everything in it is writable by you$/);
  expect(existsSync(join(ws.root, '.dist.next'))).toBe(false);
  expect(existsSync(join(ws.root, '.dist.old'))).toBe(false);
  expect(readTree(ws.distDir)).toEqual({ ...before, [join('clusters', 'staging', 'apps.yaml', 'mine.txt')]: 'mine' });
});

describe('the journal of a write in place, planted or damaged', () => {
  test('a journal cut short stops synth in one line and keeps the moved-aside files', async () => {
    const ws = workspace(fleet);
    await synthesize({ ...ws, env: {} });
    // Killed while writing its journal, as an older writer could leave it.
    const apps = join(ws.distDir, 'clusters', 'staging', 'apps.yaml');
    writeFile(join(ws.root, '.dist.old', 'clusters', 'staging', 'apps.yaml'), readFileSync(apps, 'utf8'));
    rmSync(apps);
    writeFile(join(ws.root, '.dist.next', 'journal.json'), '{"write":["clusters/staging/apps.y');
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/^.*\.dist\.next\/journal\.json cannot be read \(not JSON\): dist\/ may be half-written; move the files in .*\.dist\.old back into place \(or git checkout the tree\), remove .*\.dist\.next, then synth again$/);
    expect(existsSync(join(ws.root, '.dist.old', 'clusters', 'staging', 'apps.yaml'))).toBe(true);
  });

  test('paths out of the tree are refused, and nothing outside is removed', async () => {
    const ws = workspace(fleet);
    const target = outside(ws);
    const before = snapshot(target);
    await synthesize({ ...ws, env: {} });
    writeFile(join(ws.root, '.dist.next', 'journal.json'), JSON.stringify({ write: [{ path: `../${target.split('/').pop()}/id_ed25519`, sha256: '0'.repeat(64) }], existed: [] }));
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/journal\.json cannot be read \(not a journal flux-infra wrote\)/);
    expect(snapshot(target)).toEqual(before);
    rmSync(target, { recursive: true });
  });

  test('a link on the way to a journaled file is refused, never followed', async () => {
    const ws = workspace(fleet);
    const target = outside(ws);
    mkdirSync(join(target, 'staging'));
    writeFileSync(join(target, 'staging', 'apps.yaml'), 'theirs');
    const before = snapshot(target);
    await synthesize({ ...ws, env: {} });
    rmSync(join(ws.distDir, 'clusters'), { recursive: true });
    symlinkSync(target, join(ws.distDir, 'clusters'));
    writeFile(join(ws.root, '.dist.next', 'journal.json'), JSON.stringify({ write: [{ path: 'clusters/staging/apps.yaml', sha256: '0'.repeat(64) }], existed: [] }));
    await expect(synthesize({ ...ws, env: {} })).rejects.toThrow(/clusters is a symbolic link, which flux-infra never follows/);
    expect(snapshot(target)).toEqual(before);
    rmSync(target, { recursive: true });
  });
});
