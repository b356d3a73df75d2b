// X.509 certificates for loopback HTTPS servers, made with @peculiar/x509 on Node's WebCrypto:
// a private CA and leaf certificates it signs, for any names and validity.
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

export interface Certificate {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends Certificate {
  /** A leaf certificate this CA signs for `names` (DNS names or IP addresses). */
  issue(names: string[], validity?: { notBefore?: Date; notAfter?: Date }): Promise<Certificate>;
}

let serial = 1;

/** A TestCa around an existing CA certificate and its private key. */
function caOf(ca: x509.X509Certificate, caKey: webcrypto.CryptoKey, keyPem: string): TestCa {
  return {
    cert: ca.toString('pem'),
    key: keyPem,
    issue: async (names, validity = {}) => {
      const leafKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: String(serial++).padStart(2, '0') + Date.now().toString(16),
        subject: `CN=${names[0]}`,
        issuer: ca.subject,
        notBefore: validity.notBefore ?? new Date(Date.now() - DAY),
        notAfter: validity.notAfter ?? new Date(Date.now() + DAY),
        signingKey: caKey,
        publicKey: leafKeys.publicKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: /^[\d.]+$|:/.test(value) ? 'ip' as const : 'dns' as const, value }))),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        ],
      });
      return { cert: leaf.toString('pem'), key: await pemKey(leafKeys.privateKey) };
    },
  };
}

/** A new private CA. */
export async function testCa(name = 'flux-infra test CA'): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: String(serial++).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return caOf(ca, keys.privateKey, await pemKey(keys.privateKey));
}

/** The CA of PEM texts a testCa() wrote (another process's), to issue more leaf certificates. */
export async function testCaFromPem(cert: string, key: string): Promise<TestCa> {
  const der = Buffer.from(key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return caOf(new x509.X509Certificate(cert), privateKey, key);
}
