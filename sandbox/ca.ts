import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from './paths';

// The sandbox's own certificate authority. Servers (Samba LDAPS, the Graph and telephony
// simulators) get certificates from it, and clients trust exactly this CA: TLS is verified in
// the sandbox just as it is in production, never switched off.

export interface CertPaths {
  cert: string;
  key: string;
}

const caDir = () => path.join(stateDir, 'ca');

export function caCertPath(): string {
  return path.join(caDir(), 'ca.pem');
}

/** Creates the CA once; later calls reuse it. */
export function ensureCa(): CertPaths {
  const dir = caDir();
  const cert = caCertPath();
  const key = path.join(dir, 'ca-key.pem');
  if (fs.existsSync(cert) && fs.existsSync(key)) return { cert, key };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '3650',
    '-subj',
    '/CN=Tunnus Sandbox CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

/**
 * Issues (once) a server certificate for the given DNS names and IPs, signed by the sandbox CA.
 * `name` is the file stem: `<state>/ca/<name>.pem` and `<name>-key.pem`.
 */
export function ensureServerCert(name: string, dnsNames: string[], ips: string[] = ['127.0.0.1']): CertPaths {
  const ca = ensureCa();
  const dir = caDir();
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  if (fs.existsSync(cert) && fs.existsSync(key)) return { cert, key };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)].join(',');
  fs.writeFileSync(
    ext,
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `/CN=${dnsNames[0] ?? name}`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '825',
    '-extfile',
    ext,
  ]);
  fs.chmodSync(key, 0o600);
  return { cert, key };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
