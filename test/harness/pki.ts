// Certificates and keys for the test cluster, made with the openssl CLI
// (node:crypto generates keys but not X.509 certificates). EC P-256 keys keep
// generation fast; kube-apiserver accepts them for serving, client
// certificates and the ES256 service-account signing key.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** Service-account token signing key (private) and its public half. */
  saKey: string;
  saPub: string;
}

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function ecKey(file: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

export async function signedCert(dir: string, name: string, subject: string, extensions: string, pki: { caCert: string; caKey: string }): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  fs.writeFileSync(ext, extensions);
  await openssl(['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

export async function makePki(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  await ecKey(caKey);
  await openssl(['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=multus-e2e-ca', '-days', '2', '-sha256', '-out', caCert]);
  const ca = { caCert, caKey };
  const serving = await signedCert(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n',
    ca,
  );
  // Group system:masters is bound to cluster-admin by the bootstrap RBAC policy.
  const admin = await signedCert(dir, 'admin', '/O=system:masters/CN=multus-e2e-admin', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n', ca);
  const saKey = path.join(dir, 'sa.key');
  const saPub = path.join(dir, 'sa.pub');
  await ecKey(saKey);
  await openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]);
  return {
    caCert,
    caKey,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey,
    saPub,
  };
}
