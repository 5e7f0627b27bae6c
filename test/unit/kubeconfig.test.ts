// Rendering the kubeconfig: a data structure serialised by the yaml package.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { renderKubeconfig, serverUrl } from '../../src/kubeconfig.js';

const base = { protocol: 'https', host: '10.96.0.1', port: '443', token: 'tok', ca: Buffer.from('CA PEM'), skipTlsVerify: false };

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

  it('trims the token', () => {
    expect(parse(renderKubeconfig({ ...base, token: '\n  tok \n' })).users[0].user.token).toBe('tok');
  });

  it('writes insecure-skip-tls-verify instead of the CA when asked', () => {
    const cluster = parse(renderKubeconfig({ ...base, ca: undefined, skipTlsVerify: true })).clusters[0].cluster;
    expect(cluster).toEqual({ server: 'https://10.96.0.1:443', 'insecure-skip-tls-verify': true });
  });

  it('keeps YAML-significant characters in values intact (no string templates)', () => {
    const out = parse(renderKubeconfig({ ...base, token: 'a: b # c', protocol: 'http', host: 'fd00::1' }));
    expect(out.users[0].user.token).toBe('a: b # c');
    expect(out.clusters[0].cluster.server).toBe('http://[fd00::1]:443');
  });
});
