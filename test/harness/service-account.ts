// A service-account volume written the way the kubelet's AtomicWriter
// writes projected volumes, because that layout is what the entrypoints must
// cope with: the payload lives in a timestamped directory `..2026_...`,
// `..data` is a symlink to it, and the visible names are symlinks through
// `..data`. An update writes a new timestamped directory, points a
// temporary symlink at it, renames that over `..data` (the one atomic step
// a reader sees) and removes the old directory.
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceAccountPayload {
  token: string;
  caCert: string;
  namespace: string;
}

function timestampDirName(): string {
  const d = new Date();
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}`;
  // The kubelet uses MkdirTemp(dir, "..<stamp>."): a random suffix follows.
  return `..${stamp}.${Math.floor(Math.random() * 1e9)}`;
}

export class ServiceAccountDir {
  readonly dir: string;
  private current: string | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  get tokenFile(): string {
    return path.join(this.dir, 'token');
  }

  get caFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  /** First write, or a rotation: both go through the `..data` swap. */
  write(payload: ServiceAccountPayload): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tsName = timestampDirName();
    const tsDir = path.join(this.dir, tsName);
    fs.mkdirSync(tsDir, { mode: 0o755 });
    fs.writeFileSync(path.join(tsDir, 'token'), payload.token, { mode: 0o644 });
    fs.writeFileSync(path.join(tsDir, 'ca.crt'), payload.caCert, { mode: 0o644 });
    fs.writeFileSync(path.join(tsDir, 'namespace'), payload.namespace, { mode: 0o644 });
    const tmpLink = path.join(this.dir, '..data_tmp');
    fs.rmSync(tmpLink, { force: true });
    fs.symlinkSync(tsName, tmpLink);
    fs.renameSync(tmpLink, path.join(this.dir, '..data'));
    for (const name of ['token', 'ca.crt', 'namespace']) {
      const link = path.join(this.dir, name);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', name), link);
    }
    if (this.current) fs.rmSync(path.join(this.dir, this.current), { recursive: true, force: true });
    this.current = tsName;
  }

  /** Rotation: a new payload through the same atomic swap. */
  rotate(payload: ServiceAccountPayload): void {
    this.write(payload);
  }
}
