// GET /metrics on --health-port: the series an operator scrapes, changing
// as the node changes. Real files, the real command, real HTTP.
import { beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, registerSecret, startDaemon, stopDaemon, expectNoSecrets } from '../helpers/daemon.js';
import { copyMaster, eventually, writeServiceAccount, useHostRoot } from '../helpers/host-root.js';
import { httpGet, type HttpAnswer } from '../helpers/http.js';

const h = useHostRoot();
let port: number;
beforeEach(async () => {
  port = await freePort();
});

/** A token shaped like the API server's: a JWT whose claims say when it expires. */
function jwt(exp: number): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${part({ alg: 'RS256', kid: 'k' })}.${part({ iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:kube-system:multus', exp })}.c2lnbmF0dXJlLW5ldmVyLWxvZy1tZQ`;
  registerSecret(token);
  return token;
}

const scrape = (): Promise<HttpAnswer> => httpGet(port, '/metrics');

/** The value of one series ("name{labels}"), or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Scrapes until `ok` holds of the text (the loop reacts to files within ms, but the machine is loaded). */
function scrapeUntil(what: string, ok: (text: string) => boolean): Promise<string> {
  return eventually(async () => (await scrape()).body, ok, 20_000, what);
}

describe('/metrics', () => {
  it('shows the node as it is and follows it: writes, master switch, restore, invalidation, token expiry', async () => {
    const exp = 1_900_000_000;
    await writeServiceAccount(h.saDir, jwt(exp), 'CA-1');
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`, '--cleanup-config-on-exit']);

    const first = await scrape();
    expect(first.status).toBe(200);
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    let text = first.body;
    expect(sample(text, 'multus_entrypoint_ready')).toBe(1);
    expect(sample(text, 'multus_entrypoint_writes_total{file="config"}')).toBe(1);
    expect(sample(text, 'multus_entrypoint_writes_total{file="kubeconfig"}')).toBe(1);
    expect(sample(text, 'multus_entrypoint_reconciles_total{result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'multus_entrypoint_reconciles_total{result="error"}')).toBe(0);
    expect(sample(text, 'multus_entrypoint_restores_total')).toBe(0);
    expect(sample(text, 'multus_entrypoint_invalidations_total')).toBe(0);
    expect(sample(text, 'multus_entrypoint_token_renewals_total')).toBe(0);
    expect(sample(text, 'multus_entrypoint_master_info{file="10-flannel.conflist"}')).toBe(1);
    expect(sample(text, 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBe(exp);
    // Node's default process metrics.
    for (const series of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect({ series, value: sample(text, series) }).toEqual({ series, value: expect.any(Number) });
    }
    expect(text).toMatch(/^# TYPE multus_entrypoint_writes_total counter$/m);
    expect(text).toMatch(/^# TYPE multus_entrypoint_ready gauge$/m);

    // A new master that sorts first: the master switches, the config is rewritten.
    await copyMaster(h, 'masters/05-cilium.conflist');
    text = await scrapeUntil('master_info to name 05-cilium.conflist and the config rewritten', (t) => sample(t, 'multus_entrypoint_master_info{file="05-cilium.conflist"}') === 1 && sample(t, 'multus_entrypoint_writes_total{file="config"}') === 2);
    expect(sample(text, 'multus_entrypoint_master_info{file="10-flannel.conflist"}')).toBeUndefined();

    // Someone deletes the kubeconfig: it is restored and counted.
    await fsp.rm(h.kubeconfig);
    text = await scrapeUntil('restores_total 1', (t) => sample(t, 'multus_entrypoint_restores_total') === 1);
    expect(sample(text, 'multus_entrypoint_writes_total{file="kubeconfig"}')).toBe(2);

    // The token rotates: the expiry follows the kubeconfig, and the renewal is counted (routine: not an Event).
    await writeServiceAccount(h.saDir, jwt(exp + 3600), 'CA-1');
    text = await scrapeUntil('the new token expiry', (t) => sample(t, 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds') === exp + 3600);
    text = await scrapeUntil('token_renewals_total 1', (t) => sample(t, 'multus_entrypoint_token_renewals_total') === 1);
    expect(sample(text, 'multus_entrypoint_writes_total{file="kubeconfig"}')).toBe(3);
    expect(text).toMatch(/^# TYPE multus_entrypoint_token_renewals_total counter$/m);

    // Every master gone (with --cleanup-config-on-exit): invalidated, not ready.
    // The outranked master goes first, so no switch back to it comes in between.
    await fsp.rm(join(h.confDir, '10-flannel.conflist'));
    await fsp.rm(join(h.confDir, '05-cilium.conflist'));
    // (A scrape may fall between the write and the reconcile's end: wait for the whole state.)
    text = await scrapeUntil('invalidations_total 1, no master', (t) => sample(t, 'multus_entrypoint_invalidations_total') === 1 && !t.includes('multus_entrypoint_master_info{'));
    expect(sample(text, 'multus_entrypoint_ready')).toBe(0);

    // A master back: ready again, and the master named.
    await copyMaster(h, 'masters/10-flannel.conflist');
    // ready is read from the disk at scrape time, master_info once the reconcile that wrote it ends: wait for both.
    text = await scrapeUntil('ready again, with flannel as the master', (t) => sample(t, 'multus_entrypoint_ready') === 1 && sample(t, 'multus_entrypoint_master_info{file="10-flannel.conflist"}') === 1);
    expect(sample(text, 'multus_entrypoint_master_info{file="05-cilium.conflist"}')).toBeUndefined();
    const r = await stopDaemon(run);
    expectNoSecrets(r.stderr + text);
  });

  it('counts a failed reconcile as an error', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    const run = await startDaemon(h, [`--health-port=${port}`]);
    // An unreadable token while running: the last good files stay, the reconcile fails.
    await fsp.rm(join(h.saDir, 'token'));
    const text = await scrapeUntil('an error reconcile', (t) => (sample(t, 'multus_entrypoint_reconciles_total{result="error"}') ?? 0) >= 1);
    expect(sample(text, 'multus_entrypoint_ready')).toBe(0);
    await stopDaemon(run);
  });

  it('gives NaN as the expiry of a token that is not a JWT', async () => {
    await copyMaster(h, 'masters/10-flannel.conflist');
    await writeServiceAccount(h.saDir, 'opaque-legacy-token-not-a-jwt', 'CA-1');
    registerSecret('opaque-legacy-token-not-a-jwt');
    const run = await startDaemon(h, [`--health-port=${port}`]);
    const { body: text } = await scrape();
    expect(sample(text, 'multus_entrypoint_kubeconfig_token_expiry_timestamp_seconds')).toBeNaN();
    await stopDaemon(run);
  });
});
