// Counting requests the way the API server sees them. Pure (no I/O): the
// Prometheus text of kube-apiserver's /metrics, and the JSON lines of its
// audit log (one object per request; the suite's policy logs only the multus
// service account's requests, at Metadata level, at ResponseComplete).
//
// /metrics says what the server served (apiserver_request_total by verb,
// group, resource, subresource, code) but not for whom; the audit log says
// who. The suite's FlowSchema `fleet-multus` matches only the multus service
// account, so /metrics' own per-flow-schema counters (dispatched + rejected)
// give the multus total, which the audit log's count must equal.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of the Prometheus text format (comments and malformed lines skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    if (brace === -1 || brace > space) {
      out.push({ name: line.slice(0, space).trim(), labels: {}, value });
      continue;
    }
    const close = line.lastIndexOf('}', space);
    if (close < brace) continue;
    const labels: Record<string, string> = {};
    const body = line.slice(brace + 1, close);
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let m = re.exec(body); m; m = re.exec(body)) {
      labels[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: line.slice(0, brace), labels, value });
  }
  return out;
}

/** One request as counted: the labels apiserver_request_total and the audit log share. */
export interface RequestKey {
  /** As /metrics spells it: GET, LIST, POST, PUT, PATCH, DELETE, WATCH. */
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource: string;
  code: string;
}

export function keyString(k: RequestKey): string {
  return `${k.verb} ${k.group === '' ? '' : `${k.group}/`}${k.resource}${k.subresource === '' ? '' : `/${k.subresource}`} ${k.code}`;
}

/** Counts by keyString. */
export type Counts = Map<string, number>;

/** apiserver_request_total as counts by request key. */
export function requestCounts(samples: Sample[]): Counts {
  const out: Counts = new Map();
  for (const s of samples) {
    if (s.name !== 'apiserver_request_total') continue;
    const key = keyString({
      verb: s.labels.verb ?? '',
      group: s.labels.group ?? '',
      resource: s.labels.resource ?? '',
      subresource: s.labels.subresource ?? '',
      code: s.labels.code ?? '',
    });
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** after - before, for the keys that changed. */
export function diffCounts(before: Counts, after: Counts): Counts {
  const out: Counts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** Dispatched and rejected requests of one flow schema, from /metrics. */
export function flowSchemaTotals(samples: Sample[], flowSchema: string): { dispatched: number; rejected: number } {
  let dispatched = 0;
  let rejected = 0;
  for (const s of samples) {
    if (s.labels.flow_schema !== flowSchema) continue;
    if (s.name === 'apiserver_flowcontrol_dispatched_requests_total') dispatched += s.value;
    else if (s.name === 'apiserver_flowcontrol_rejected_requests_total') rejected += s.value;
  }
  return { dispatched, rejected };
}

export interface AuditRecord extends RequestKey {
  user: string;
  /** The node named in the token (`authentication.kubernetes.io/node-name`), '' if none. */
  node: string;
  /** The audit event's stageTimestamp, ms since the epoch. */
  timeMs: number;
}

const AUDIT_VERBS: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETE',
};

interface AuditEvent {
  stage?: unknown;
  verb?: unknown;
  stageTimestamp?: unknown;
  user?: { username?: unknown; extra?: Record<string, unknown> };
  objectRef?: { apiGroup?: unknown; resource?: unknown; subresource?: unknown };
  responseStatus?: { code?: unknown };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One audit log line as a request, or undefined for another stage or a line that is not an audit event. */
export function parseAuditLine(line: string): AuditRecord | undefined {
  if (line.trim() === '') return undefined;
  let e: AuditEvent;
  try {
    e = JSON.parse(line) as AuditEvent;
  } catch {
    return undefined;
  }
  if (e.stage !== 'ResponseComplete') return undefined;
  const verb = str(e.verb);
  const nodeNames = e.user?.extra?.['authentication.kubernetes.io/node-name'];
  return {
    verb: AUDIT_VERBS[verb] ?? verb.toUpperCase(),
    group: str(e.objectRef?.apiGroup),
    resource: str(e.objectRef?.resource),
    subresource: str(e.objectRef?.subresource),
    code: typeof e.responseStatus?.code === 'number' ? String(e.responseStatus.code) : '',
    user: str(e.user?.username),
    node: Array.isArray(nodeNames) ? str(nodeNames[0]) : '',
    timeMs: Date.parse(str(e.stageTimestamp)) || 0,
  };
}

/** Splits appended log text into complete lines and the unfinished rest. */
export function splitLines(pending: string, chunk: string): { lines: string[]; rest: string } {
  const text = pending + chunk;
  const end = text.lastIndexOf('\n');
  if (end === -1) return { lines: [], rest: text };
  return { lines: text.slice(0, end).split('\n'), rest: text.slice(end + 1) };
}

export function countRecords(records: readonly AuditRecord[], filter: (r: AuditRecord) => boolean = () => true): Counts {
  const out: Counts = new Map();
  for (const r of records) {
    if (!filter(r)) continue;
    const k = keyString(r);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

export function total(c: Counts): number {
  let n = 0;
  for (const v of c.values()) n += v;
  return n;
}

/** Event writes of any API group (core/v1 and events.k8s.io): create, patch, update. */
export function isEventWrite(r: RequestKey): boolean {
  return r.resource === 'events' && (r.verb === 'POST' || r.verb === 'PATCH' || r.verb === 'PUT');
}

/** A write to a Node object itself (not its status): the startup taint. */
export function isNodePatch(r: RequestKey): boolean {
  return r.group === '' && r.resource === 'nodes' && r.subresource === '' && (r.verb === 'PATCH' || r.verb === 'PUT');
}
