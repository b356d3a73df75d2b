import { createDecipheriv } from 'node:crypto';
import { parse, parseDocument, Scalar } from 'yaml';
import { goFloat, goYamlValue } from '../lib/secrets/go-yaml-scalar';
import { readSopsMetadata, sopsDecrypt, sopsEncrypt, sopsMac } from '../lib/secrets/sops';
import { ageDecrypt, ageKeygen } from './support/age';
import { testWith } from './support/external-tools';
import { ageRecipientProblem } from '../lib/fleet/age-recipients';

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
  labels:
    replicas: "2"
type: Opaque
stringData:
  token: 0123456789abcdef0123456789abcdef
  empty: ""
data:
  ca.crt: bG9uZyBiYXNlNjQgdGV4dA==
`;
const NOW = new Date('2026-11-25T10:20:30.456Z');

/** Decrypts one ENC[...] value with node:crypto alone, as any AES-GCM implementation would. */
function decryptValue(value: string, key: Buffer, aad: string): string {
  const [, data, iv, tag] = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:.+\]$/.exec(value)!;
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
}

describe('the MAC', () => {
  test('reproduces the public vector of Flux\'s sops test data (algorithms/age.yaml)', () => {
    // Leaves "v1" + "Secret" + "age" + "value", as the reference notes give them.
    expect(sopsMac('apiVersion: v1\nkind: Secret\nmetadata:\n  name: age\nstringData:\n  key: value\n'))
      .toBe('5E6C78D06EF2D302C2DBC6DE95E8050A5DC5D24A5EE3F394BEC133BC432257EAD15A476AE609FE74379E7120853F13A1B080772BE5F162AD6945A25113B48862');
  });

  test.each([
    ['1.50', 'float', '1.5'], ['0777', 'int', '511'], ['0x1F', 'int', '31'], ['1_000', 'int', '1000'], ['-7', 'int', '-7'],
    ['TRUE', 'bool', 'True'], ['false', 'bool', 'False'], ['yes', 'str', 'yes'], ['1e3', 'float', '1000'],
    ['2024-01-01', 'time', '2024-01-01T00:00:00Z'], ['2024-1-2T3:04:05.500+02:00', 'time', '2024-01-02T03:04:05.5+02:00'],
    ['"123"', 'str', '123'], ["'true'", 'str', 'true'], ['.inf', 'float', '+Inf'], ['v1', 'str', 'v1'],
  ])('hashes the plain scalar %s as go-yaml reads it (%s %s)', (source, type, bytes) => {
    const scalar = parseDocument(`x: ${source}`, { schema: 'failsafe' }).get('x', true) as Scalar;
    expect(goYamlValue(scalar)).toEqual({ type, bytes });
  });

  test('skips nulls, formats floats like strconv.FormatFloat(f, -1)', () => {
    for (const empty of ['~', 'null', '']) {
      expect(goYamlValue(parseDocument(`x: ${empty}`, { schema: 'failsafe' }).get('x', true) as Scalar ?? new Scalar(''))).toBeUndefined();
    }
    expect(goFloat(1e21)).toBe('1000000000000000000000');
    expect(goFloat(1.5e-7)).toBe('0.00000015');
    expect(goFloat(-2.5)).toBe('-2.5');
  });
});

describe('sopsEncrypt', () => {
  test('round-trips through the sops-age package and our own MAC check', async () => {
    const key = await ageKeygen();
    const encrypted = await sopsEncrypt(SECRET, { recipients: [key.recipient], now: NOW });

    // Independent decryptor: the sops-age package.
    const { decryptSops } = await import('sops-age');
    expect(await decryptSops(encrypted, { secretKey: key.identity, fileType: 'yaml' })).toEqual(parse(SECRET));

    // Our decryptor checks the MAC as sops --decrypt does.
    expect((await sopsDecrypt(encrypted, [key.identity])).documents).toEqual([parse(SECRET)]);
  });

  testWith('age', 'the age CLI opens the data key, and node:crypto alone then every value and the MAC', async () => {
    const key = await ageKeygen();
    const encrypted = await sopsEncrypt(SECRET, { recipients: [key.recipient], now: NOW });
    const file = parse(encrypted);

    // The real age binary recovers the 32-byte data key; node:crypto alone then opens values and MAC.
    const dataKey = ageDecrypt(file.sops.age[0].enc, key);
    expect(dataKey).toHaveLength(32);
    expect(decryptValue(file.stringData.token, dataKey, 'stringData:token:')).toBe('0123456789abcdef0123456789abcdef');
    expect(decryptValue(file.data['ca.crt'], dataKey, 'data:ca.crt:')).toBe('bG9uZyBiYXNlNjQgdGV4dA==');
    expect(decryptValue(file.sops.mac, dataKey, '2026-11-25T10:20:30Z')).toBe(sopsMac(SECRET));
  });

  test('writes the metadata as sops 3.13 does: plaintext kept, mac marker, quoted time, semver', async () => {
    const key = await ageKeygen();
    const encrypted = await sopsEncrypt(SECRET, { recipients: [key.recipient], now: NOW });
    const file = parse(encrypted);
    expect(file.metadata).toEqual({ name: 'webhook-token', namespace: 'flux-system', labels: { replicas: '2' } });
    expect(file.type).toBe('Opaque');
    expect(file.stringData.empty).toBe('');
    expect(file.stringData.token).toMatch(/^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/]{43}=,tag:[A-Za-z0-9+/]{22}==,type:str\]$/);
    expect(Object.keys(file)).toEqual(['apiVersion', 'kind', 'metadata', 'type', 'stringData', 'data', 'sops']);
    expect(Object.keys(file.sops)).toEqual(['age', 'encrypted_regex', 'lastmodified', 'mac', 'version']);
    expect(file.sops.encrypted_regex).toBe('^(data|stringData)$');
    expect(file.sops.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(encrypted).toContain('lastmodified: "2026-11-25T10:20:30Z"');
    expect(encrypted).toMatch(/\n {4}mac: ENC\[/);
    expect(file.sops.age[0].enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/);
    expect(readSopsMetadata(encrypted)).toEqual({ recipients: [key.recipient], lastModified: '2026-11-25T10:20:30Z', encryptedRegex: '^(data|stringData)$', version: '3.13.2' });
  });

  test('encrypts one data key for each recipient, and every document with one MAC', async () => {
    const [a, b] = await Promise.all([ageKeygen(), ageKeygen()]);
    const twoDocuments = `${SECRET}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: second\nstringData:\n  k: v\n`;
    const encrypted = await sopsEncrypt(twoDocuments, { recipients: [a.recipient, b.recipient], now: NOW });
    expect(encrypted.match(/^sops:$/gm)).toHaveLength(2);
    expect(encrypted.match(/^---$/gm)).toHaveLength(1);
    for (const key of [a, b]) {
      expect((await sopsDecrypt(encrypted, [key.identity])).documents.map((document) => document.metadata.name)).toEqual(['webhook-token', 'second']);
    }
  });

  test('fails on tampering: an edited plaintext value breaks the MAC, a moved value its key path', async () => {
    const key = await ageKeygen();
    const encrypted = await sopsEncrypt(SECRET, { recipients: [key.recipient], now: NOW });
    await expect(sopsDecrypt(encrypted.replace('namespace: flux-system', 'namespace: other'), [key.identity])).rejects.toThrow(/MAC mismatch/);
    await expect(sopsDecrypt(encrypted.replace('    token: ENC', '    tokem: ENC'), [key.identity])).rejects.toThrow(/stringData\.tokem: cannot decrypt/);
    await expect(sopsDecrypt(encrypted, [(await ageKeygen()).identity])).rejects.toThrow(/no given age identity can decrypt the data key/);
  });

  test('fails on bad input: no or bad recipients, an encrypted file, non-string keys', async () => {
    const now = NOW;
    await expect(sopsEncrypt(SECRET, { recipients: [], now })).rejects.toThrow('at least one age recipient');
    await expect(sopsEncrypt(SECRET, { recipients: ['AGE-SECRET-KEY-1XYZ'], now })).rejects.toThrow(/^an age secret key \(AGE-SECRET-KEY-\.\.\., not shown\) is not a recipient: put its public key/);
    const key = await ageKeygen();
    const encrypted = await sopsEncrypt(SECRET, { recipients: [key.recipient], now });
    await expect(sopsEncrypt(encrypted, { recipients: [key.recipient], now })).rejects.toThrow('already has a sops: key');
    await expect(sopsEncrypt('data:\n  1: x\n', { recipients: [key.recipient], now })).rejects.toThrow(/data\.1: sops needs every key to be a string/);
  });

  test('ageRecipientProblem accepts real recipients and explains bad ones', async () => {
    expect(ageRecipientProblem((await ageKeygen()).recipient)).toBeUndefined();
    const recipient = (await ageKeygen()).recipient;
    expect(ageRecipientProblem(`${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`)).toMatch(/bad checksum or length/);
    expect(ageRecipientProblem('ssh-ed25519 AAAA')).toMatch(/must start with age1/);
  });

  test('ageRecipientProblem (bech32, without loading age) accepts exactly what age-encryption accepts', async () => {
    const age = await import('age-encryption');
    const agesVerdict = (recipient: string) => {
      try {
        new age.Encrypter().addRecipient(recipient);
        return true;
      } catch {
        return false;
      }
    };
    const real = [
      await age.identityToRecipient(await age.generateX25519Identity()),
      await age.identityToRecipient(await age.generateHybridIdentity()),
    ];
    const candidates = real.flatMap((recipient) => [
      recipient,
      recipient.slice(0, -1),
      `${recipient}q`,
      `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`,
      `${recipient.slice(0, 10)}${recipient[10] === 'q' ? 'p' : 'q'}${recipient.slice(11)}`,
      recipient.replace(/^age1pq1/, 'age1'),
      recipient.replace(/^age1(?!pq1)/, 'age1pq1'),
      recipient.toUpperCase(),
    ]);
    expect(candidates.filter((recipient) => ageRecipientProblem(recipient) === undefined)).toEqual(candidates.filter(agesVerdict));
    expect(real.every((recipient) => ageRecipientProblem(recipient) === undefined)).toBe(true);
  });
});
