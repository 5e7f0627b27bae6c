// The fleet simulation's counting and figures (test/fleet/harness/counts.ts
// and report.ts): pure, so pinned here rather than by a run of the fleet.
import { describe, expect, it } from '@jest/globals';
import {
  countRecords,
  diffCounts,
  flowSchemaTotals,
  isEventWrite,
  isNodePatch,
  parseAuditLine,
  parseMetrics,
  requestCounts,
  splitLines,
  total,
} from './counts.js';
import { FLEET_SIZE, lastLine, met, requestsPerDay, ROTATIONS_PER_DAY, steadyAtFleet, summaryTable, targets, type Figures } from './report.js';

const METRICS = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="serviceaccounts",scope="resource",subresource="token",verb="POST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="GET",version="v1"} 40
apiserver_request_total{code="429",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="GET",version="v1"} 3
apiserver_request_total{code="201",component="apiserver",dry_run="",group="events.k8s.io",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 7
apiserver_flowcontrol_dispatched_requests_total{flow_schema="fleet-multus",priority_level="workload-high"} 55
apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} 900
apiserver_flowcontrol_rejected_requests_total{flow_schema="fleet-multus",priority_level="fleet-squeeze",reason="queue-full"} 3
process_start_time_seconds 1.7e+09
weird_label{a="x\\"y",b="line\\nbreak"} 1
`;

describe('parseMetrics', () => {
  it('reads samples with and without labels, escapes included, and skips comments', () => {
    const s = parseMetrics(METRICS);
    expect(s).toHaveLength(9);
    expect(s.find((x) => x.name === 'process_start_time_seconds')?.value).toBe(1.7e9);
    expect(s.find((x) => x.name === 'weird_label')?.labels).toEqual({ a: 'x"y', b: 'line\nbreak' });
  });

  it('counts apiserver_request_total by verb, group, resource, subresource and code', () => {
    const c = requestCounts(parseMetrics(METRICS));
    expect(c.get('POST serviceaccounts/token 201')).toBe(12);
    expect(c.get('GET pods 200')).toBe(40);
    expect(c.get('GET pods 429')).toBe(3);
    expect(c.get('POST events.k8s.io/events 201')).toBe(7);
  });

  it('sums a FlowSchema\'s dispatched and rejected requests over its priority levels', () => {
    expect(flowSchemaTotals(parseMetrics(METRICS), 'fleet-multus')).toEqual({ dispatched: 55, rejected: 3 });
  });

  it('diffs two snapshots, keeping only what changed', () => {
    const before = new Map([['a', 1], ['b', 2]]);
    const after = new Map([['a', 1], ['b', 5], ['c', 1]]);
    expect([...diffCounts(before, after)]).toEqual([['b', 3], ['c', 1]]);
  });
});

const audit = (o: Record<string, unknown>): string => JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stageTimestamp: '2026-12-02T12:00:00.123456Z', ...o });

describe('parseAuditLine', () => {
  it('reads a completed request as /metrics names it, with the node its token names', () => {
    const r = parseAuditLine(audit({
      stage: 'ResponseComplete',
      verb: 'create',
      user: { username: 'system:serviceaccount:kube-system:multus', extra: { 'authentication.kubernetes.io/node-name': ['fleet-0001'] } },
      objectRef: { resource: 'serviceaccounts', namespace: 'kube-system', name: 'multus', apiVersion: 'v1', subresource: 'token' },
      responseStatus: { metadata: {}, code: 201 },
    }));
    expect(r).toEqual({ verb: 'POST', group: '', resource: 'serviceaccounts', subresource: 'token', code: '201', user: 'system:serviceaccount:kube-system:multus', node: 'fleet-0001', timeMs: Date.parse('2026-12-02T12:00:00.123Z') });
  });

  it('skips other stages and lines that are not audit events', () => {
    expect(parseAuditLine(audit({ stage: 'RequestReceived', verb: 'get' }))).toBeUndefined();
    expect(parseAuditLine('{not json')).toBeUndefined();
    expect(parseAuditLine('')).toBeUndefined();
  });

  it('names a node PATCH and an events.k8s.io write as such', () => {
    const patch = parseAuditLine(audit({ stage: 'ResponseComplete', verb: 'patch', objectRef: { resource: 'nodes', name: 'n' }, responseStatus: { code: 200 } }));
    const status = parseAuditLine(audit({ stage: 'ResponseComplete', verb: 'patch', objectRef: { resource: 'nodes', subresource: 'status' }, responseStatus: { code: 200 } }));
    const event = parseAuditLine(audit({ stage: 'ResponseComplete', verb: 'create', objectRef: { resource: 'events', apiGroup: 'events.k8s.io' }, responseStatus: { code: 201 } }));
    const get = parseAuditLine(audit({ stage: 'ResponseComplete', verb: 'get', objectRef: { resource: 'events', apiGroup: 'events.k8s.io' }, responseStatus: { code: 200 } }));
    expect(patch && isNodePatch(patch)).toBe(true);
    expect(status && isNodePatch(status)).toBe(false);
    expect(event && isEventWrite(event)).toBe(true);
    expect(get && isEventWrite(get)).toBe(false);
    const counts = countRecords([patch, status, event, get].flatMap((x) => (x ? [x] : [])));
    expect(counts.get('PATCH nodes 200')).toBe(1);
    expect(counts.get('PATCH nodes/status 200')).toBe(1);
    expect(counts.get('POST events.k8s.io/events 201')).toBe(1);
    expect(total(counts)).toBe(4);
  });
});

describe('splitLines', () => {
  it('keeps an unfinished line for the next read', () => {
    const a = splitLines('', '{"a":1}\n{"b"');
    expect(a).toEqual({ lines: ['{"a":1}'], rest: '{"b"' });
    expect(splitLines(a.rest, ':2}\n')).toEqual({ lines: ['{"b":2}'], rest: '' });
  });
});

describe('the figures', () => {
  it('makes a day of a quiet stretch, the rotations of a day and the node-bound renewals', () => {
    // 10 nodes, 0 requests in 30 s, 40 requests for 2 rotations: 2 per node per rotation.
    const day = requestsPerDay({ quietRequests: 0, quietSeconds: 30, rotationRequests: 40, rotations: 2 }, 10);
    expect(ROTATIONS_PER_DAY).toBeCloseTo(29.94, 2);
    expect(day).toBeCloseTo(2 * 29.94 + 1.25, 1);
    // A quiet fleet that still sends one request per node per minute: 1,440 a day more.
    expect(requestsPerDay({ quietRequests: 10, quietSeconds: 60, rotationRequests: 0, rotations: 1 }, 10)).toBeCloseTo(1440 + 1.25, 5);
  });

  it('extrapolates the day to 5,000 nodes per second', () => {
    expect(steadyAtFleet(86400 / FLEET_SIZE)).toBeCloseTo(1, 10);
  });

  const figures: Figures = { nodes: 20, start: 6, restart: 5.05, rollingUninstalls: 0, squeezeUninstalls: 0, squeeze429s: 120, day: 61.13, fight: 15, flap: 30 };

  it('ends with the one line docs/at-scale.md gives', () => {
    expect(lastLine(figures)).toBe('fleet: 20 nodes; per node: start 6.0, restart 5.0, day 61.1 requests; fight 15.0 events/5 min; flap 30.0 node patches/min; uninstalls under 429: 0; 5000-node steady 3.54 req/s');
  });

  it('holds each figure against its target', () => {
    const t = Object.fromEntries(targets(figures).map((x) => [x.name, met(x)]));
    expect(t).toEqual({ R2: true, E: false, P: false, U: true, S: false, U0: true });
  });

  it('counts U as not measured when the squeeze saw no 429, and a missing figure as missed', () => {
    const t = targets({ nodes: 5, squeezeUninstalls: 0, squeeze429s: 0 });
    expect(t.find((x) => x.name === 'U')?.value).toBeUndefined();
    expect(t.every((x) => !met(x))).toBe(true);
    expect(lastLine({ nodes: 5 })).toBe('fleet: 5 nodes; per node: start -, restart -, day - requests; fight - events/5 min; flap - node patches/min; uninstalls under 429: -; 5000-node steady - req/s');
    expect(summaryTable({ nodes: 5, squeezeUninstalls: 0, squeeze429s: 0 }).join('\n')).toMatch(/no 429 seen: the squeeze did not bite\) \| = 0 \| - \| NOT MEASURED/);
  });
});
