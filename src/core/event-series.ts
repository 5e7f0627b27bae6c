// When an Event is written, as client-go's events.k8s.io recorder
// (k8s.io/client-go/tools/events, event_broadcaster.go) decides it, plus
// the spam filter of its core/v1 recorder (tools/record/events_cache.go).
// Pure: the time is passed in; cluster/events.ts makes the requests.
//
// - Identity: regarding object, reason, action, type and reporter, not the
//   note (getKey). The first occurrence is created (POST); the second turns
//   it into an EventSeries, PATCHed at once with count 2; later ones are
//   counted in memory and PATCHed at most once per 30 min (refreshTime);
//   a series quiet for 6 min (finishTime) gets a last PATCH with its final
//   count, if it grew since the last one, and is forgotten, so a later
//   occurrence starts a new Event. A single occurrence is forgotten 6 min
//   after it. client-go also re-PATCHes an unchanged series every 30 min to
//   keep it from expiring; here an unchanged count is not sent again (an
//   expired Event is created anew on the next PATCH's 404).
// - Spam filter: every write regarding one object takes a token from its
//   bucket: 25 at most, one more every 5 min (defaultSpamBurst,
//   defaultSpamQPS). A new Event without a token is dropped (the log has
//   it); a due PATCH without one waits for the next token, its count kept.

export const SERIES_REFRESH_MS = 30 * 60_000;
export const SERIES_FINISH_MS = 6 * 60_000;
export const SPAM_BURST = 25;
export const SPAM_REFILL_MS = 300_000;

/** What makes two Events the same one (the note is left out, as client-go's getKey does). */
interface EventIdentity {
  /** The object the Event is about, e.g. "v1/Pod/kube-system/multus-x/<uid>". */
  regarding: string;
  reason: string;
  action: string;
  type: string;
  reportingController: string;
  reportingInstance: string;
}

export function eventKey(id: EventIdentity): string {
  return [id.regarding, id.reason, id.action, id.type, id.reportingController, id.reportingInstance].join('\0');
}

/** A token bucket per object: at most `burst` writes at once, then one per `refillMs`. */
export class SpamFilter {
  /** Per object: the bucket's content in ms of refill (one token is refillMs), and when it was last filled. Integers, so no rounding. */
  private readonly buckets = new Map<string, { credit: number; at: number }>();

  constructor(private readonly burst = SPAM_BURST, private readonly refillMs = SPAM_REFILL_MS) {}

  private bucket(object: string, now: number): { credit: number; at: number } {
    const full = this.burst * this.refillMs;
    const b = this.buckets.get(object) ?? { credit: full, at: now };
    b.credit = Math.min(full, b.credit + Math.max(0, now - b.at));
    b.at = now;
    this.buckets.set(object, b);
    return b;
  }

  /** Takes a token for a write regarding `object`; false when there is none. */
  take(object: string, now: number): boolean {
    const b = this.bucket(object, now);
    if (b.credit < this.refillMs) return false;
    b.credit -= this.refillMs;
    return true;
  }

  /** When the next token for `object` is there (now when one is). */
  nextTokenAt(object: string, now: number): number {
    const b = this.bucket(object, now);
    return now + Math.max(0, this.refillMs - b.credit);
  }
}

/** A write to make: create the Event, or PATCH its series with this count. */
export type SeriesWrite =
  | { kind: 'create'; key: string }
  | { kind: 'patch'; key: string; count: number; lastObservedMs: number; final: boolean };

interface Entry {
  object: string;
  count: number;
  /** The count the last write carried. */
  sent: number;
  lastObservedMs: number;
  lastWriteMs: number;
}

export class EventSeriesBook {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly spam: SpamFilter = new SpamFilter()) {}

  /**
   * An occurrence of the Event `key` regarding `object` at `now`: the write
   * to make at once, 'counted' (kept for a later PATCH), or 'dropped' (a new
   * Event the spam filter refused).
   */
  observe(key: string, object: string, now: number): SeriesWrite | 'counted' | 'dropped' {
    this.forgetQuiet(key, now);
    const e = this.entries.get(key);
    if (!e) {
      if (!this.spam.take(object, now)) return 'dropped';
      this.entries.set(key, { object, count: 1, sent: 1, lastObservedMs: now, lastWriteMs: now });
      return { kind: 'create', key };
    }
    e.count += 1;
    e.lastObservedMs = now;
    // The second occurrence makes it a series at once; later ones wait for a refresh or the end.
    if (e.sent < 2 && this.spam.take(object, now)) return this.patch(key, e, now, false);
    return 'counted';
  }

  /** The writes due at `now`: a series' first PATCH held back by the spam filter, refreshes, last PATCHes. */
  due(now: number): SeriesWrite[] {
    const writes: SeriesWrite[] = [];
    for (const [key, e] of this.entries) {
      const quiet = now - e.lastObservedMs >= SERIES_FINISH_MS;
      const unsent = e.count > e.sent;
      if (quiet && !unsent) {
        this.entries.delete(key);
      } else if (unsent && (quiet || e.sent < 2 || now - e.lastWriteMs >= SERIES_REFRESH_MS) && this.spam.take(e.object, now)) {
        writes.push(this.patch(key, e, now, quiet));
        if (quiet) this.entries.delete(key);
      }
    }
    return writes;
  }

  /** When due() next has something to do; undefined when nothing is pending. */
  nextDueAt(now: number): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) {
      const finish = e.lastObservedMs + SERIES_FINISH_MS;
      let at = finish;
      if (e.count > e.sent) {
        const wanted = e.sent < 2 ? now : Math.min(e.lastWriteMs + SERIES_REFRESH_MS, finish);
        at = Math.max(wanted, this.spam.nextTokenAt(e.object, now));
      }
      next = next === undefined ? at : Math.min(next, at);
    }
    return next;
  }

  /** The last PATCH of every series whose count grew since its last write (the program is stopping). */
  flush(now: number): SeriesWrite[] {
    const writes: SeriesWrite[] = [];
    for (const [key, e] of this.entries) {
      if (e.count > e.sent && this.spam.take(e.object, now)) writes.push(this.patch(key, e, now, true));
    }
    this.entries.clear();
    return writes;
  }

  private patch(key: string, e: Entry, now: number, final: boolean): SeriesWrite {
    e.sent = e.count;
    e.lastWriteMs = now;
    return { kind: 'patch', key, count: e.count, lastObservedMs: e.lastObservedMs, final };
  }

  /** An entry quiet for finishTime with nothing left to send starts over (a new Event). */
  private forgetQuiet(key: string, now: number): void {
    const e = this.entries.get(key);
    if (e && e.count === e.sent && now - e.lastObservedMs >= SERIES_FINISH_MS) this.entries.delete(key);
  }
}
