// Measuring windows: what the API server counted between two moments.
// A window opens with a /metrics snapshot and the audit log's current end,
// and closes with another snapshot; the audit records read in between are
// the multus service account's requests. The audit log is read as it grows
// (every wait polls it), which also tells when the fleet has gone quiet and
// stops a run whose fleet sends more than a window's request cap.
import fs from 'node:fs';
import https from 'node:https';
import type { ClusterInfo } from '../../harness/cluster.js';
import {
  countRecords,
  diffCounts,
  flowSchemaTotals,
  parseAuditLine,
  parseMetrics,
  requestCounts,
  splitLines,
  type AuditRecord,
  type Counts,
} from './counts.js';

export const MULTUS_USER = 'system:serviceaccount:kube-system:multus';
/** The FlowSchemas that match only the multus service account (fleet.ts creates them). */
export const MULTUS_FLOW_SCHEMAS = ['fleet-multus', 'fleet-multus-squeeze'];

/** GET `urlPath` with the admin client certificate; the body, or an error for anything but 200. */
function adminGetText(info: ClusterInfo, urlPath: string, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: info.host,
        port: info.port,
        path: urlPath,
        method: 'GET',
        ca: fs.readFileSync(info.caFile),
        cert: fs.readFileSync(info.adminCertFile),
        key: fs.readFileSync(info.adminKeyFile),
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${urlPath}: HTTP ${res.statusCode ?? 0}`));
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Snapshot {
  requests: Counts;
  /** Dispatched + rejected requests of the multus FlowSchemas. */
  multusFlow: number;
  rejected: number;
}

async function snapshot(info: ClusterInfo): Promise<Snapshot> {
  const samples = parseMetrics(await adminGetText(info, '/metrics'));
  let multusFlow = 0;
  let rejected = 0;
  for (const fs of MULTUS_FLOW_SCHEMAS) {
    const t = flowSchemaTotals(samples, fs);
    multusFlow += t.dispatched + t.rejected;
    rejected += t.rejected;
  }
  return { requests: requestCounts(samples), multusFlow, rejected };
}

export interface WindowResult {
  label: string;
  seconds: number;
  /** The multus service account's requests (audit log). */
  records: AuditRecord[];
  multus: Counts;
  /** Every caller's requests (apiserver_request_total delta). */
  all: Counts;
  /** The multus FlowSchemas' dispatched + rejected delta (/metrics), to check the audit log against. */
  flowTotal: number;
  /** Of which rejected by priority and fairness (429). */
  flowRejected: number;
}

/** The audit log of the multus service account, read as it grows. */
export class Meter {
  private offset = 0;
  private pending = '';
  private lastRecordAt = Date.now();
  private current: { label: string; startedAt: number; before: Snapshot; records: AuditRecord[]; cap: number } | undefined;
  /** Set once a window's request cap is passed: the run stops the fleet, and every wait fails. */
  exceeded: string | undefined;
  /** Called once when the cap is passed. */
  onCapExceeded: (what: string) => void = () => undefined;

  private readonly info: ClusterInfo;
  private readonly auditLog: string;

  constructor(info: ClusterInfo, auditLog: string) {
    this.info = info;
    this.auditLog = auditLog;
  }

  /** Reads what the audit log gained; records go to the open window. */
  poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.auditLog, 'r');
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // rotated
      if (size === this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const { lines, rest } = splitLines(this.pending, buf.subarray(0, n).toString('utf8'));
      this.pending = rest;
      for (const line of lines) {
        const r = parseAuditLine(line);
        if (!r || r.user !== MULTUS_USER) continue;
        this.lastRecordAt = Date.now();
        const w = this.current;
        if (!w) continue;
        w.records.push(r);
        if (w.records.length === w.cap + 1 && this.exceeded === undefined) {
          this.exceeded = `${w.label}: more than ${w.cap} requests of the multus service account`;
          this.onCapExceeded(this.exceeded);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Milliseconds since the multus service account's last request. */
  quietForMs(): number {
    this.poll();
    return Date.now() - this.lastRecordAt;
  }

  /**
   * A /metrics snapshot during which the audit log gained nothing, so that
   * the snapshot and the records read so far describe the same moment (a
   * request that lands while /metrics is read would be in one and not the
   * other). Retried a few times; a fleet that never pauses gets the last.
   */
  private async stableSnapshot(): Promise<Snapshot> {
    let snap: Snapshot | undefined;
    for (let i = 0; i < 10; i++) {
      this.poll();
      const before = this.lastRecordAt;
      snap = await snapshot(this.info);
      this.poll();
      if (this.lastRecordAt === before) return snap;
    }
    return snap ?? snapshot(this.info);
  }

  async open(label: string, cap: number): Promise<void> {
    if (this.current) throw new Error(`window ${this.current.label} is still open`);
    const before = await this.stableSnapshot();
    this.current = { label, startedAt: Date.now(), before, records: [], cap };
  }

  async close(): Promise<WindowResult> {
    const w = this.current;
    if (!w) throw new Error('no window is open');
    const after = await this.stableSnapshot();
    this.current = undefined;
    return {
      label: w.label,
      seconds: (Date.now() - w.startedAt) / 1000,
      records: w.records,
      multus: countRecords(w.records),
      all: diffCounts(w.before.requests, after.requests),
      flowTotal: after.multusFlow - w.before.multusFlow,
      flowRejected: after.rejected - w.before.rejected,
    };
  }

  /** Discards an open window (a failed scenario). */
  abandon(): void {
    this.current = undefined;
  }

  openLabel(): string | undefined {
    return this.current?.label;
  }
}
