// /metrics: the token's expiry read from a kubeconfig (pure).
import { describe, expect, it } from '@jest/globals';
import { renderKubeconfig } from '../../../src/core/kubeconfig.js';
import { tokenExpiry } from '../../../src/observe/metrics.js';

const jwt = (claims: object): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const kubeconfig = (token: string): string => renderKubeconfig({ protocol: 'https', host: '10.0.0.1', port: '443', token, ca: Buffer.from('CA'), skipTlsVerify: false });

describe('tokenExpiry', () => {
  it('reads the exp claim of the kubeconfig user\'s token', () => {
    expect(tokenExpiry(kubeconfig(jwt({ sub: 'x', exp: 1_800_000_123 })))).toBe(1_800_000_123);
  });
  it.each([
    ['an opaque token', kubeconfig('not-a-jwt')],
    ['a token without exp', kubeconfig(jwt({ sub: 'x' }))],
    ['claims that are not JSON', kubeconfig('a.bm90IGpzb24.c')],
    ['not YAML', '{{{'],
    ['no users', 'apiVersion: v1\nkind: Config\n'],
  ])('gives undefined for %s', (_what, text) => {
    expect(tokenExpiry(text)).toBeUndefined();
  });
});
