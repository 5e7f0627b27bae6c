// Reading a service-account token's claims (the JWT payload, not verified:
// the API server verifies; this only learns who the token is for and until
// when). The one place a token is decoded. The mounted token gives the
// service account's name and namespace; a requested token shows the node it
// was bound to; the kubeconfig's token its expiry (for /metrics). Pure.

interface TokenClaims {
  namespace: string;
  serviceAccount: string;
  /** The node in the `kubernetes.io` claim (pod-bound tokens carry it too, as information). */
  node?: string;
  /** Set for a pod-bound token (the projected, mounted one). */
  pod?: string;
  /** `exp`, seconds since the epoch. */
  expiresAt?: number;
}

const SA_SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The JWT's payload, decoded, or why it cannot be; the reason never quotes the token. */
function jwtPayload(token: string): { payload: unknown } | { error: string } {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return { error: 'the token is not a JWT (three dot-separated parts)' };
  try {
    return { payload: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) };
  } catch {
    return { error: 'the token\'s payload is not base64url-encoded JSON' };
  }
}

/** `exp`, seconds since the epoch, when it is a number. */
function expiry(payload: unknown): number | undefined {
  const exp = field(payload, 'exp');
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** The token's `exp` (seconds since the epoch), whoever it is for; undefined when it is not a JWT or has none. */
export function tokenExpiresAt(token: string): number | undefined {
  const decoded = jwtPayload(token);
  return 'error' in decoded ? undefined : expiry(decoded.payload);
}

/**
 * The claims of a Kubernetes service-account JWT, or why they cannot be
 * read. The reason never quotes the token.
 */
export function tokenClaims(token: string): TokenClaims | { error: string } {
  const decoded = jwtPayload(token);
  if ('error' in decoded) return decoded;
  const { payload } = decoded;
  const k8s = field(payload, 'kubernetes.io');
  let namespace = str(field(k8s, 'namespace'));
  let serviceAccount = str(field(field(k8s, 'serviceaccount'), 'name'));
  // Legacy (secret-based) tokens have only the subject.
  const sub = SA_SUBJECT.exec(str(field(payload, 'sub')) ?? '');
  namespace ??= sub?.[1];
  serviceAccount ??= sub?.[2];
  if (!namespace || !serviceAccount) return { error: 'the token names no service account (no kubernetes.io claim, no system:serviceaccount subject)' };
  const claims: TokenClaims = { namespace, serviceAccount };
  const node = str(field(field(k8s, 'node'), 'name'));
  if (node) claims.node = node;
  const pod = str(field(field(k8s, 'pod'), 'name'));
  if (pod) claims.pod = pod;
  const expiresAt = expiry(payload);
  if (expiresAt !== undefined) claims.expiresAt = expiresAt;
  return claims;
}

/** When to renew a token valid from `issuedMs` to `expiresMs`: at 80% of its lifetime. */
export function renewalTime(issuedMs: number, expiresMs: number): number {
  return issuedMs + Math.max(0, expiresMs - issuedMs) * 0.8;
}

/**
 * Until when a token is used: a little before it expires (10% of its
 * lifetime, at most a minute), so a client never presents a token that
 * expires in flight.
 */
export function usableUntil(issuedMs: number, expiresMs: number): number {
  return expiresMs - Math.min(60_000, Math.max(0, expiresMs - issuedMs) * 0.1);
}
