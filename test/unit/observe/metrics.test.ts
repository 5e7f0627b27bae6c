// /metrics: the token's expiry read from a kubeconfig (pure), and the
// series a scrape shows, from the counts Stats keeps, the readiness check and
// the kubeconfig on disk (test/cli/metrics.test.ts scrapes the built program).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKubeconfig } from '../../../src/core/kubeconfig.js';
import { createMetrics, tokenExpiry } from '../../../src/observe/metrics.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { Stats } from '../../../src/observe/stats.js';

const jwt = (claims: object): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const kubeconfig = (token: string): string => renderKubeconfig({ protocol: 'https', host: '10.0.0.1', port: '443', token, ca: Buffer.from('CA'), skipTlsVerify: false });

describe('tokenExpiry', () => {
  it('reads the exp claim of the kubeconfig user\'s token', () => {
    expect(tokenExpiry(kubeconfig(jwt({ sub: 'x', exp: 1_800_000_123 })))).toBe(1_800_000_123);
  });
  it('takes the current context\'s user; without contexts, the first user', () => {
    const users = `users:\n- name: old\n  user: {token: ${jwt({ exp: 1 })}}\n- name: cur\n  user: {token: ${jwt({ exp: 2 })}}\n`;
    expect(tokenExpiry(`current-context: c\ncontexts:\n- name: c\n  context: {user: cur}\n${users}`)).toBe(2);
    expect(tokenExpiry(users)).toBe(1);
  });
  it.each([
    ['an opaque token', kubeconfig('not-a-jwt')],
    ['a token without exp', kubeconfig(jwt({ sub: 'x' }))],
    ['claims that are not JSON', kubeconfig('a.bm90IGpzb24.c')],
    ['a user without a token', 'users:\n- name: a\n  user: {}\n'],
    ['not YAML', '{{{'],
    ['no users', 'apiVersion: v1\nkind: Config\n'],
  ])('gives undefined for %s', (_what, text) => {
    expect(tokenExpiry(text)).toBeUndefined();
  });
});

describe('createMetrics: what a scrape shows', () => {
  let dir: string;
  beforeEach(async () => { dir = await fsp.mkdtemp(join(tmpdir(), 'multus-metrics-')); });
  afterEach(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

  /** The value of one series ("name{labels}"), or undefined when it is not there. */
  function sample(text: string, series: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  function metrics(inSync: () => Promise<{ ok: boolean }> = () => Promise.resolve({ ok: true })) {
    const stats = new Stats();
    const kubeconfigPath = join(dir, 'multus.kubeconfig');
    return { stats, kubeconfigPath, m: createMetrics({ stats, checkInSync: inSync, kubeconfigPath }) };
  }

  it('counts writes, restores, invalidations and reconciles by kind, and names the master in use', async () => {
    const { stats, m } = metrics();
    const events: NodeEvent[] = [
      { kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'created' },
      { kind: 'wrote', file: 'config', path: '/c', cause: 'created', master: 'a.conf' },
      { kind: 'reconciled', result: 'ok', configured: true, master: 'a.conf' },
      { kind: 'wrote', file: 'config', path: '/c', cause: 'restored', how: { what: 'removed' } },
      { kind: 'reconciled', result: 'error', configured: false, error: 'x' },
      { kind: 'wrote', file: 'config', path: '/c', cause: 'invalidated' },
      { kind: 'fight', file: 'config', path: '/c', times: 3, windowSeconds: 60 },
      { kind: 'wrote', file: 'kubeconfig', path: '/k', cause: 'renewed' },
    ];
    for (const e of events) stats.notify(e);
    const text = await m.render();
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect({
      writesConfig: sample(text, 'multus_entrypoint_writes_total{file="config"}'),
      writesKubeconfig: sample(text, 'multus_entrypoint_writes_total{file="kubeconfig"}'),
      restores: sample(text, 'multus_entrypoint_restores_total'),
      invalidations: sample(text, 'multus_entrypoint_invalidations_total'),
      renewals: sample(text, 'multus_entrypoint_token_renewals_total'),
      ok: sample(text, 'multus_entrypoint_reconciles_total{result="ok"}'),
      error: sample(text, 'multus_entrypoint_reconciles_total{result="error"}'),
      // A failed reconcile keeps the files, and so the master.
      master: sample(text, 'multus_entrypoint_master_info{file="a.conf"}'),
      ready: sample(text, 'multus_entrypoint_ready'),
    }).toEqual({ writesConfig: 3, writesKubeconfig: 2, restores: 1, invalidations: 1, renewals: 1, ok: 1, error: 1, master: 1, ready: 1 });
    expect(text).toMatch(/^# TYPE multus_entrypoint_writes_total counter$/m);
    expect(text).toMatch(/^# TYPE multus_entrypoint_master_info gauge$/m);
    // Node's process metrics come along.
    expect(sample(text, 'process_resident_memory_bytes')).toEqual(expect.any(Number));
  });

  it('counts --repair-pods\' pods by result, zero for a result that never happened', async () => {
    const { stats, m } = metrics();
    for (const result of ['evicted', 'blocked', 'blocked'] as const) stats.notify({ kind: 'repair', result, pod: 'default/web-0' });
    const text = await m.render();
    expect(['evicted', 'left_alone', 'blocked', 'failed'].map((r) => sample(text, `multus_entrypoint_pod_repairs_total{result="${r}"}`))).toEqual([1, 0, 2, 0]);
  });

  it('follows the master: a switch names only the new one; waiting for one names none', async () => {
    const { stats, m } = metrics();
    stats.notify({ kind: 'reconciled', result: 'ok', configured: true, master: 'a.conf' });
    stats.notify({ kind: 'reconciled', result: 'ok', configured: true, master: 'b.conf' });
    let text = await m.render();
    expect(sample(text, 'multus_entrypoint_master_info{file="b.conf"}')).toBe(1);
    expect(sample(text, 'multus_entrypoint_master_info{file="a.conf"}')).toBeUndefined();
    stats.notify({ kind: 'reconciled', result: 'ok', configured: false });
    text = await m.render();
    expect(text).not.toContain('multus_entrypoint_master_info{');
  });

  it('is ready as /readyz is, at scrape time; a failing check is not ready', async () => {
    let answer: Promise<{ ok: boolean }> = Promise.resolve({ ok: false });
    const { m } = metrics(() => answer);
    expect(sample(await m.render(), 'multus_entrypoint_ready')).toBe(0);
    answer = Promise.resolve({ ok: true });
    expect(sample(await m.render(), 'multus_entrypoint_ready')).toBe(1);
    answer = Promise.reject(new Error('EIO'));
    expect(sample(await m.render(), 'multus_entrypoint_ready')).toBe(0);
  });

  it('reads the token\'s expiry from the kubeconfig on disk at each scrape; NaN without one', async () => {
    const { kubeconfigPath, m } = metrics();
    expect(sample(await m.render(), 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBeNaN();
    await fsp.writeFile(kubeconfigPath, kubeconfig(jwt({ exp: 1_900_000_000 })));
    expect(sample(await m.render(), 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBe(1_900_000_000);
    await fsp.writeFile(kubeconfigPath, kubeconfig(jwt({ exp: 1_900_003_600 })));
    expect(sample(await m.render(), 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBe(1_900_003_600);
    await fsp.writeFile(kubeconfigPath, kubeconfig('opaque'));
    expect(sample(await m.render(), 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBeNaN();
  });

  it('shows the counts of a fresh start as zeros, not missing series', async () => {
    const text = await metrics().m.render();
    for (const series of ['multus_entrypoint_writes_total{file="config"}', 'multus_entrypoint_writes_total{file="kubeconfig"}', 'multus_entrypoint_reconciles_total{result="ok"}', 'multus_entrypoint_reconciles_total{result="error"}', 'multus_entrypoint_restores_total', 'multus_entrypoint_invalidations_total', 'multus_entrypoint_token_renewals_total']) {
      expect({ series, value: sample(text, series) }).toEqual({ series, value: 0 });
    }
  });
});
