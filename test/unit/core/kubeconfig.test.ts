// Rendering the kubeconfig: a data structure written exactly as the yaml
// package writes it, by the built-in writer when every string is one yaml
// writes plain, else by the library the caller passes in.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { apiAccess, kubeconfigDocument, kubeconfigNeedsYamlLibrary, onlyTokenDiffers, renderKubeconfig, serverUrl, type ApiAccess } from '../../../src/core/kubeconfig.js';

const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLV9fLXg';
const PEM = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n');
const base: ApiAccess = { protocol: 'https', host: '10.96.0.1', port: '443', token: 'tok', ca: Buffer.from('CA PEM'), skipTlsVerify: false };
const usual: ApiAccess = { ...base, token: JWT, ca: PEM };

describe('serverUrl', () => {
  it.each([
    ['10.96.0.1', 'https://10.96.0.1:443'],
    ['fd00::1', 'https://[fd00::1]:443'],
    ['[fd00::1]', 'https://[fd00::1]:443'],
    ['api.example.internal', 'https://api.example.internal:443'],
  ])('%s -> %s', (host, url) => {
    expect(serverUrl('https', host, '443')).toBe(url);
  });
});

describe('apiAccess', () => {
  it('joins the service env, the service account and --skip-tls-verify into the one record', () => {
    const env = { kubernetesServiceProtocol: 'https', kubernetesServiceHost: '10.96.0.1', kubernetesServicePort: '443' };
    expect(apiAccess(env, { token: 'tok', ca: Buffer.from('CA PEM') }, false)).toEqual(base);
    expect(apiAccess(env, { token: 'tok', ca: undefined }, true)).toEqual({ ...base, ca: undefined, skipTlsVerify: true });
  });
});

describe('renderKubeconfig', () => {
  it('has one cluster, user and current context, as Multus expects', () => {
    expect(parse(renderKubeconfig(base))).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: 'https://10.96.0.1:443', 'certificate-authority-data': Buffer.from('CA PEM').toString('base64') } }],
      users: [{ name: 'multus', user: { token: 'tok' } }],
      contexts: [{ name: 'multus-context', context: { cluster: 'local', user: 'multus' } }],
      'current-context': 'multus-context',
    });
  });

  it('writes a JWT, base64 CA data and an IPv6 URL without the yaml library, as yaml would', () => {
    const input = { ...usual, host: 'fd00::1' };
    expect(kubeconfigNeedsYamlLibrary(input)).toBe(false);
    expect(renderKubeconfig(input)).toBe([
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: local',
      '    cluster:',
      '      server: https://[fd00::1]:443',
      `      certificate-authority-data: ${PEM.toString('base64')}`,
      'users:',
      '  - name: multus',
      '    user:',
      `      token: ${JWT}`,
      'contexts:',
      '  - name: multus-context',
      '    context:',
      '      cluster: local',
      '      user: multus',
      'current-context: multus-context',
      '',
    ].join('\n'));
    expect(renderKubeconfig(input)).toBe(stringify(kubeconfigDocument(input), { lineWidth: 0 }));
  });

  it('trims the token', () => {
    expect(parse(renderKubeconfig({ ...base, token: '\n  tok \n' })).users[0].user.token).toBe('tok');
  });

  it('writes insecure-skip-tls-verify instead of the CA when asked', () => {
    const input = { ...usual, ca: undefined, skipTlsVerify: true };
    expect(kubeconfigNeedsYamlLibrary(input)).toBe(false);
    expect(parse(renderKubeconfig(input)).clusters[0].cluster).toEqual({ server: 'https://10.96.0.1:443', 'insecure-skip-tls-verify': true });
  });

  it.each([
    ['a space', 'a b'],
    ['a quote', 'it"s'],
    ['YAML syntax', 'a: b # c'],
    ['a boolean word', 'true'],
    ['a leading digit', '12345'],
  ])('needs the yaml library for a token with %s, and says so without the token', (_what, token) => {
    const input = { ...usual, token };
    expect(kubeconfigNeedsYamlLibrary(input)).toBe(true);
    expect(() => renderKubeconfig(input)).toThrow('this kubeconfig needs the yaml library');
    try {
      renderKubeconfig(input);
    } catch (err) {
      expect(String(err)).not.toContain(token);
    }
    expect(parse(renderKubeconfig(input, stringify)).users[0].user.token).toBe(token);
  });

  it('keeps YAML-significant characters in values intact (no string templates)', () => {
    const out = parse(renderKubeconfig({ ...base, token: 'a: b # c', protocol: 'http', host: 'fd00::1' }, stringify));
    expect(out.users[0].user.token).toBe('a: b # c');
    expect(out.clusters[0].cluster.server).toBe('http://[fd00::1]:443');
  });
});

describe('renderKubeconfig, for any input', () => {
  // Strings near the edges of what yaml writes plain: its indicators first,
  // ':'/' '/'#' last, words it reads as booleans or null, numbers.
  const safe = fc.string({ unit: fc.constantFrom(...'Aaez0189._/+=:~[]_-'), maxLength: 12 });
  const edged = fc.tuple(
    fc.constantFrom('', '', '-', '?', ':', '.', '~', '0', '#', '[', '&', '*', '!', '%', '@', '`', "'", '"', ' ', '|', '>', '---', '...'),
    safe,
    fc.constantFrom('', '', ':', ' ', '#', ' #x', '\n', '\t'),
  ).map(([a, b, c]) => a + b + c);
  const words = fc.constantFrom('true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'null', 'Null', 'NULL', 'yes', 'No', 'on', 'OFF', 'y', 'N', '~',
    '-', '-1', '1e3', '0x1F', '0o17', '.inf', '-.Inf', '.NaN', 'NaN', '12:30', '2001-12-14');
  const b64url = fc.string({ unit: fc.constantFrom(...'ABCxyz0189-_'), minLength: 1, maxLength: 30 });
  const jwt = fc.tuple(b64url, b64url, b64url).map(([h, p, s]) => `eyJ${h}.eyJ${p}.${s}`);
  // Long enough with spaces for yaml to fold it, were lineWidth not 0.
  const spaced = fc.array(safe, { minLength: 2, maxLength: 16 }).map((w) => w.join(' '));
  const text = fc.oneof(safe, edged, words, jwt, spaced, fc.string({ unit: 'binary', maxLength: 16 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
  const input: fc.Arbitrary<ApiAccess> = fc.record({
    protocol: fc.oneof(fc.constantFrom('https', 'http'), text),
    host: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), text),
    port: fc.oneof(fc.constantFrom('443', '6443'), text),
    token: fc.oneof(jwt, jwt.map((t) => `${t}\n`), text),
    ca: fc.oneof(fc.constant(PEM), fc.constant(undefined), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), text.map((t) => Buffer.from(t))),
    skipTlsVerify: fc.boolean(),
  });

  it('writes exactly what yaml writes, without the library whenever it says it can', () => {
    let withoutLibrary = 0;
    const runs = 2000;
    fc.assert(fc.property(input, (i) => {
      const yaml = stringify(kubeconfigDocument(i), { lineWidth: 0 });
      expect(renderKubeconfig(i, stringify)).toBe(yaml);
      if (!kubeconfigNeedsYamlLibrary(i)) {
        withoutLibrary++;
        expect(renderKubeconfig(i)).toBe(yaml);
      }
    }), { numRuns: runs });
    // Both ways are exercised, not just the library's.
    expect(withoutLibrary).toBeGreaterThan(runs / 20);
    expect(withoutLibrary).toBeLessThan(runs * 0.95);
  });
});

describe('onlyTokenDiffers', () => {
  const input = { protocol: 'https', host: '10.0.0.1', port: '443', token: 'a.b.c', ca: Buffer.from('CA'), skipTlsVerify: false };
  it('is true when only the token changed (a rotation or a renewal: a metric, not an Event)', () => {
    expect(onlyTokenDiffers(renderKubeconfig(input), renderKubeconfig({ ...input, token: 'd.e.f' }))).toBe(true);
  });
  it.each([
    ['the same text', input],
    ['a new CA', { ...input, ca: Buffer.from('CA-2') }],
    ['a new CA and token', { ...input, ca: Buffer.from('CA-2'), token: 'd.e.f' }],
    ['a new server', { ...input, host: '10.0.0.2', token: 'd.e.f' }],
    ['TLS verification off', { ...input, skipTlsVerify: true, token: 'd.e.f' }],
  ])('is false for %s', (_what, other) => {
    expect(onlyTokenDiffers(renderKubeconfig(input), renderKubeconfig(other))).toBe(false);
  });
});
