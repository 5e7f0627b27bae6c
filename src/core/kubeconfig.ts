// Rendering multus.d/multus.kubeconfig from the pod's service account, and
// the API access record it is rendered from (every request to the API
// server carries the same record, built by apiAccess below).
// Pure: built as a data structure and serialised exactly as the yaml package
// writes it, never by pasting strings into a template (a token or host cannot
// break the YAML). The usual document (a JWT, base64 CA data, an https URL)
// is written by yaml-plain.ts; the library itself is needed only for other
// strings, and is passed in by the caller so it stays off the start path.
import type { stringify } from 'yaml';
import type { Environment } from './options.js';
import { stringifyPlain, type PlainMap } from './yaml-plain.js';

/** yaml's stringify, loaded by the caller (await import('yaml')) when needed. */
export type YamlStringify = typeof stringify;

/** How this pod reaches the API server: what the kubeconfig holds and what each API request carries. */
export interface ApiAccess {
  protocol: string;
  host: string;
  port: string;
  /** The service-account token as read; surrounding whitespace is trimmed. */
  token: string;
  /** The CA certificate bytes; ignored when skipTlsVerify. */
  ca: Buffer | undefined;
  skipTlsVerify: boolean;
}

/** The in-cluster service environment (KUBERNETES_SERVICE_PROTOCOL, _HOST, _PORT). */
export type ServiceEnv = Pick<Environment, 'kubernetesServiceProtocol' | 'kubernetesServiceHost' | 'kubernetesServicePort'>;

/** The one builder of the API access record: the service env, a service account's token and CA, --skip-tls-verify. */
export function apiAccess(env: ServiceEnv, sa: { token: string; ca: Buffer | undefined }, skipTlsVerify: boolean): ApiAccess {
  return {
    protocol: env.kubernetesServiceProtocol,
    host: env.kubernetesServiceHost,
    port: env.kubernetesServicePort,
    token: sa.token,
    ca: sa.ca,
    skipTlsVerify,
  };
}

/** "https://10.0.0.1:443", or "https://[fd00::1]:443" for an IPv6 host. */
export function serverUrl(protocol: string, host: string, port: string): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${protocol}://${bracketed}:${port}`;
}

/** The kubeconfig as a data structure. */
export function kubeconfigDocument(input: ApiAccess): PlainMap {
  const cluster: Record<string, string | boolean> = { server: serverUrl(input.protocol, input.host, input.port) };
  if (input.skipTlsVerify) {
    cluster['insecure-skip-tls-verify'] = true;
  } else {
    cluster['certificate-authority-data'] = (input.ca ?? Buffer.alloc(0)).toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster }],
    users: [{ name: 'multus', user: { token: input.token.trim() } }],
    contexts: [{ name: 'multus-context', context: { cluster: 'local', user: 'multus' } }],
    'current-context': 'multus-context',
  };
}

/** Whether renderKubeconfig needs yaml's stringify for this input (a string yaml would quote). */
export function kubeconfigNeedsYamlLibrary(input: ApiAccess): boolean {
  return stringifyPlain(kubeconfigDocument(input)) === undefined;
}

/** The file's text, as yaml's stringify(doc, { lineWidth: 0 }) writes it. */
export function renderKubeconfig(input: ApiAccess, yamlStringify?: YamlStringify): string {
  const doc = kubeconfigDocument(input);
  const plain = stringifyPlain(doc);
  if (plain !== undefined) return plain;
  // No token in the message: it is the likely reason the library is needed.
  if (!yamlStringify) throw new Error('renderKubeconfig: this kubeconfig needs the yaml library (see kubeconfigNeedsYamlLibrary), none was given');
  return yamlStringify(doc, { lineWidth: 0 });
}

/**
 * Whether two kubeconfig texts differ only in the user's token (a rotation
 * or a renewal, not a new server or CA): the one line that differs is the
 * token's in both.
 */
export function onlyTokenDiffers(before: string, after: string): boolean {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) return false;
  const differ = a.flatMap((line, i) => (line === b[i] ? [] : [i]));
  const token = /^\s*token:\s/;
  return differ.length === 1 && token.test(a[differ[0]!]!) && token.test(b[differ[0]!]!);
}
