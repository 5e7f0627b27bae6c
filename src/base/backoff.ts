// The one retry timing every request to the API server uses (the token
// request, events, the node taint, the uninstall check): exponential
// backoff with jitter, and the server's Retry-After honoured. Pure: the
// random source and the clock are passed in, so tests pin the bounds.
//
// Jitter as client-go's wait.Jitter(d, 1.0) (the reflector's backoff): the
// n-th wait is drawn uniformly from [d, 2d), d = min(cap, initial *
// factor^(n-1)). A floor of d, not "full jitter" (0..d): a fleet that failed
// together spreads over a window as wide as the wait itself, and no node
// comes back sooner than the step says. A Retry-After (429 or 5xx) raises d
// to what the server asked for, capped at 32 s (the most the API server asks
// for under priority and fairness, maxRetryAfter), and is jittered the same
// way, so a fleet told "1 s" does not come back in the same millisecond.

export interface BackoffPolicy {
  /** The first wait (before jitter), ms. */
  initialMs: number;
  /** Each further wait is this many times the last. */
  factor: number;
  /** The un-jittered wait never exceeds this, ms (the jittered one stays below twice this). */
  capMs: number;
  /** Up to this fraction of the wait is added at random (client-go's maxFactor; 1.0 here). */
  jitter: number;
}

/** The most a Retry-After is honoured for, ms (kube-apiserver's maxRetryAfter). */
export const MAX_RETRY_AFTER_MS = 32_000;

/** A number in [0, 1), as Math.random gives. */
export type Random = () => number;

/** Time as the retry loops see it: real, or a fake clock in tests. */
export interface Clock {
  now(): number;
  /** Resolves after ms, or at once when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  }),
};

/**
 * The wait before retry number `attempt` (1 for the first retry), ms:
 * d = max(min(cap, initial * factor^(attempt-1)), retryAfterMs capped at
 * 32 s), then d + random * jitter * d.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: Random, retryAfterMs?: number): number {
  const step = Math.min(policy.capMs, policy.initialMs * policy.factor ** Math.max(0, Math.min(attempt - 1, 60)));
  const told = retryAfterMs === undefined ? 0 : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, retryAfterMs));
  const d = Math.max(step, told);
  return Math.round(d + random() * policy.jitter * d);
}

/**
 * The wait before a retry that must fit in what is left of a deadline (the
 * uninstall check's grace budget), ms, or undefined when less than `minMs`
 * is left: the backoff's own wait while it takes at most half of `roomMs`
 * (the time left in which a retry can still start); otherwise a random point
 * in the middle half of the room, and never under `minMs` (then anywhere
 * from `minMs` to the room's end). A fleet that failed together and shares
 * a deadline then neither meets at its last moment nor spends it on one long
 * wait: each retry halves the room, so a few more tries fit, each at
 * another moment on each node.
 */
export function waitWithinMs(wantedMs: number, roomMs: number, random: Random, minMs = 0): number | undefined {
  if (roomMs < minMs || roomMs < 0) return undefined;
  if (wantedMs <= roomMs / 2) return wantedMs;
  const spread = roomMs * (0.25 + 0.5 * random());
  return Math.round(spread >= minMs ? spread : minMs + random() * (roomMs - minMs));
}

/**
 * A Retry-After header's delay in ms, capped at 32 s; undefined when absent
 * or not the seconds form (the API server sends seconds; an HTTP-date is
 * not honoured).
 */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000);
}

/** Counts failures of one kind of request and says how long to wait before the next try. */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy, private readonly random: Random = Math.random) {}

  /** Records a failure; gives the wait before the next try, ms. */
  next(retryAfterMs?: number): number {
    this.failures += 1;
    return backoffDelayMs(this.policy, this.failures, this.random, retryAfterMs);
  }

  /** Failures since the last success. */
  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}
