// Reading a service-account token's claims, and the timing of renewals (pure).
import { describe, expect, it } from '@jest/globals';
import { renewalTime, tokenClaims, tokenExpiresAt, usableUntil } from '../../../src/core/token-claims.js';

const jwt = (payload: unknown): string => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('tokenClaims', () => {
  it('reads the service account, pod and node of a projected (pod-bound) token, as the API server writes it', () => {
    const token = jwt({
      aud: ['https://kubernetes.default.svc'], exp: 1764120000, iat: 1764116400, iss: 'https://kubernetes.default.svc',
      'kubernetes.io': { namespace: 'kube-system', node: { name: 'node-1', uid: 'n' }, pod: { name: 'kube-multus-ds-x', uid: 'p' }, serviceaccount: { name: 'multus', uid: 's' }, warnafter: 1764120007 },
      sub: 'system:serviceaccount:kube-system:multus',
    });
    expect(tokenClaims(token)).toEqual({ namespace: 'kube-system', serviceAccount: 'multus', node: 'node-1', pod: 'kube-multus-ds-x', expiresAt: 1764120000 });
  });

  it('reads a node-bound token: a node, no pod', () => {
    const token = jwt({ 'kubernetes.io': { namespace: 'ns', node: { name: 'n1', uid: 'u' }, serviceaccount: { name: 'sa', uid: 's' } }, sub: 'system:serviceaccount:ns:sa' });
    expect(tokenClaims(token)).toEqual({ namespace: 'ns', serviceAccount: 'sa', node: 'n1' });
  });

  it('falls back to the subject of a legacy (secret-based) token', () => {
    expect(tokenClaims(jwt({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:kube-system:multus' }))).toEqual({ namespace: 'kube-system', serviceAccount: 'multus' });
  });

  it.each([
    ['not a JWT', 'opaque-token-never-log-me', /not a JWT/],
    ['a payload that is not JSON', 'a.b-never-log-me.c', /not base64url-encoded JSON/],
    ['no service account', jwt({ sub: 'system:node:n1' }), /names no service account/],
    ['a subject that only contains a service account', jwt({ sub: 'user:system:serviceaccount:ns:sa' }), /names no service account/],
    ['a subject with more than a namespace and a name', jwt({ sub: 'system:serviceaccount:ns:sa:extra' }), /names no service account/],
  ])('gives a reason, without the token, for %s', (_name, token, reason) => {
    const r = tokenClaims(token);
    expect(r).toEqual({ error: expect.stringMatching(reason) });
    expect(JSON.stringify(r)).not.toContain('never-log-me');
  });
});

describe('tokenExpiresAt', () => {
  it('reads exp whoever the token is for', () => {
    expect(tokenExpiresAt(jwt({ sub: 'x', exp: 1_800_000_123 }))).toBe(1_800_000_123);
    expect(tokenExpiresAt(` ${jwt({ exp: 1 })}\n`)).toBe(1);
  });
  it.each([
    ['not a JWT', 'opaque'],
    ['a payload that is not JSON', 'a.b.c'],
    ['no exp', jwt({ sub: 'x' })],
    ['an exp that is not a number', jwt({ exp: '1800000123' })],
    ['a null payload', jwt(null)],
  ])('gives undefined for %s', (_name, token) => {
    expect(tokenExpiresAt(token)).toBeUndefined();
  });
});

describe('renewal timing', () => {
  it('renews at 80% of the lifetime the API server returned', () => {
    expect(renewalTime(1_000_000, 1_000_000 + 86_400_000)).toBe(1_000_000 + 69_120_000);
    expect(renewalTime(0, 600_000)).toBe(480_000);
  });

  it('stops using a token a little before it expires: 10% of its lifetime, at most a minute', () => {
    expect(usableUntil(0, 86_400_000)).toBe(86_340_000);
    expect(usableUntil(0, 5_000)).toBe(4_500);
    // Renewal always comes before the token stops being used.
    for (const life of [5_000, 600_000, 3_600_000, 86_400_000]) expect(renewalTime(0, life)).toBeLessThan(usableUntil(0, life));
  });
});
