import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { runOrFail } from './proc';

/** PEM files of a private CA and what it signed, for a local broker that listens with TLS. */
export type TlsFiles = {
  ca: string;
  /** The broker's key and certificate chain in one file (Kafka's PEM keystore). */
  brokerKeystore: string;
  /** A client certificate and its key, for brokers that require one. */
  clientCert: string;
  clientKey: string;
};

/** Where ensureTlsFiles puts its files in `dir`. */
export function tlsFiles(dir: string): TlsFiles {
  return {
    ca: join(dir, 'ca.pem'),
    brokerKeystore: join(dir, 'broker.pem'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** The subject of the broker's certificate: its principal on the SSL controller listener. */
export const BROKER_CERT_SUBJECT = 'CN=ordo-broker';

const DAYS = '30';

/**
 * Makes a CA, a broker certificate for 127.0.0.1 / localhost and a client certificate with
 * openssl, once per folder. Keys are unencrypted PKCS#8 (Kafka's PEM keystore reads them
 * without a key password); the folder is the test's or the developer's own.
 */
export async function ensureTlsFiles(dir: string): Promise<TlsFiles> {
  const files = tlsFiles(dir);
  if (Object.values(files).every((file) => existsSync(file))) return files;
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const openssl = (what: string, ...args: string[]) => runOrFail(`openssl: ${what}`, 'openssl', args, { cwd: dir });
  await openssl(
    'CA',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    files.ca,
    '-days',
    DAYS,
    '-subj',
    '/CN=ordo-local-ca',
  );

  /** A key and a certificate signed by the CA, with `extensions` (an openssl extension section's lines). */
  const issue = async (name: string, subject: string, extensions: string) => {
    const [key, csr, cert, ext] = ['key', 'csr', 'crt', 'ext'].map((suffix) => join(dir, `${name}.${suffix}`));
    writeFileSync(ext, extensions);
    await openssl(`${name} key`, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/${subject}`);
    await openssl(
      `${name} certificate`,
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      files.ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      DAYS,
      '-extfile',
      ext,
    );
    rmSync(csr);
    rmSync(ext);
    return { key, cert };
  };
  // The broker is both a server (clients, controller listener) and a client (to its own
  // controller), and clients check its name: 127.0.0.1 is what it advertises.
  const broker = await issue('broker', BROKER_CERT_SUBJECT, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(files.brokerKeystore, readFileSync(broker.key, 'utf8') + readFileSync(broker.cert, 'utf8'));
  rmSync(broker.key);
  rmSync(broker.cert);
  await issue('client', 'CN=ordo-client', 'extendedKeyUsage=clientAuth\n');
  return files;
}
