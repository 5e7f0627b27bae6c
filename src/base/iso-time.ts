// Timestamps for log lines and Kubernetes events, computed from the epoch
// milliseconds alone. The first Date object a process makes loads the
// timezone (ICU data and /etc/localtime, ~1 ms of CPU under the DaemonSet's
// 100m quota, at the first log line), though an ISO time in UTC needs none.

/** What new Date(ms).toISOString() gives, for years 0 to 9999. */
export function isoTime(ms: number): string {
  // A file's mtimeMs has a fraction of a millisecond; Date drops it, so do we.
  const whole = Math.trunc(ms);
  const days = Math.floor(whole / 86_400_000);
  const msOfDay = whole - days * 86_400_000;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm): eras of
  // 400 years, years starting in March so the leap day comes last.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const h = Math.floor(msOfDay / 3_600_000);
  const m = Math.floor(msOfDay / 60_000) % 60;
  const s = Math.floor(msOfDay / 1000) % 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(msOfDay % 1000, 3)}Z`;
}
