// Service-account tokens must never reach a log, an assertion message or a
// report. Every token the harness obtains is registered here, and every
// piece of process output the harness shows goes through redact().
const secrets = new Set<string>();

export function registerSecret(value: string): void {
  const trimmed = value.trim();
  if (trimmed.length >= 8) secrets.add(trimmed);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('<redacted-token>');
  // A JWT the harness did not see (one a program read elsewhere) still looks
  // like one: three base64url segments, the first starting with {"alg".
  return out.replace(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '<redacted-jwt>');
}
