// Rendering multus.d/multus.kubeconfig from the pod's service account.
// Pure: built as a data structure and serialised by the yaml package, never
// by pasting strings into a template (a token or host cannot break the YAML).
import { stringify } from 'yaml';

export interface KubeconfigInput {
  protocol: string;
  host: string;
  port: string;
  /** The service-account token as read; surrounding whitespace is trimmed. */
  token: string;
  /** The CA certificate bytes; ignored when skipTlsVerify. */
  ca: Buffer | undefined;
  skipTlsVerify: boolean;
}

/** "https://10.0.0.1:443", or "https://[fd00::1]:443" for an IPv6 host. */
export function serverUrl(protocol: string, host: string, port: string): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${protocol}://${bracketed}:${port}`;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const cluster: Record<string, string | boolean> = { server: serverUrl(input.protocol, input.host, input.port) };
  if (input.skipTlsVerify) {
    cluster['insecure-skip-tls-verify'] = true;
  } else {
    cluster['certificate-authority-data'] = (input.ca ?? Buffer.alloc(0)).toString('base64');
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster }],
    users: [{ name: 'multus', user: { token: input.token.trim() } }],
    contexts: [{ name: 'multus-context', context: { cluster: 'local', user: 'multus' } }],
    'current-context': 'multus-context',
  }, { lineWidth: 0 });
}
