import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AgeKey {
  readonly file: string;
  readonly identity: string;
  readonly recipient: string;
}

/** A new key pair from the real age-keygen (Debian's age package). */
export function ageKeygen(): AgeKey {
  const file = join(mkdtempSync(join(tmpdir(), 'age-')), 'key.txt');
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  const text = readFileSync(file, 'utf8');
  return {
    file,
    identity: text.split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1'))!,
    recipient: /# public key: (age1\S+)/.exec(text)![1],
  };
}

/** The data key of a sops `enc` armor, decrypted by the real age CLI. */
export function ageDecrypt(armored: string, key: AgeKey): Buffer {
  return execFileSync('age', ['--decrypt', '-i', key.file], { input: armored });
}

/** A new key pair from the age library, its key file written into `folder` (age-keygen's format). */
export async function ageKeyIn(folder: string): Promise<AgeKey> {
  const { generateX25519Identity, identityToRecipient } = await import('age-encryption');
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${recipient.slice(4, 12)}.agekey`);
  writeFileSync(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { file, identity, recipient };
}
