// A suite that skips must not look green in CI. Every suite that can skip
// (the e2e suite, the reliability corpus, the real-node suite) asks this
// one question, and under CI turns a skip into a failure.
// Plain JavaScript: jest reporters and the reliability runner load it as is.

/** True when the CI environment variable says so (CI=true, CI=1, ...), as most CI systems set it. */
export function underCi(env = process.env) {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/**
 * The verdict for a suite that skipped (or skipped some cases): an error
 * message under CI, undefined elsewhere (a skip on a developer's machine
 * is reported, not failed).
 */
export function skipFailsUnderCi(suite, what, env = process.env) {
  return underCi(env) ? `${suite}: ${what}, and CI=${env.CI}: a suite that skips fails in CI` : undefined;
}
