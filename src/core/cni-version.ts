// CNI versions ("0.3.1", "0.4.0", "1.0.0", "1.1.0") compared as versions,
// not as strings: "0.10.0" is later than "0.9.0".

const VERSION = /^\d+(\.\d+){0,2}$/;

export function isCniVersion(value: string): boolean {
  return VERSION.test(value);
}

/** Negative when a < b, 0 when equal, positive when a > b. Both must be versions. */
export function compareCniVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** From 1.0.0 on, Multus is written as a plugin list (00-multus.conflist). */
export function usesConflist(cniVersion: string): boolean {
  return compareCniVersions(cniVersion, '1.0.0') >= 0;
}
