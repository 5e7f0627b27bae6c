// --repair-pods' API calls, in this process against the fake API server on
// 127.0.0.1: the node's pods listed by field selector and page, the pods
// that started too early evicted through policy/v1 Evictions (read again
// first, evicted exactly as read), an Event on each, a Warning Event on the
// ones nothing would recreate, the pace, a PodDisruptionBudget's 429 retried
// with base/backoff.ts's jittered waits (on a fake clock), a Retry-After
// honoured, RBAC's 403 said once.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { PodRepair } from '../../../src/cluster/pod-repair.js';
import type { ApiAccess } from '../../../src/cluster/kube-api.js';
import { createLogger } from '../../../src/observe/log.js';
import type { NodeEvent } from '../../../src/observe/observer.js';
import { kubeletPod, podStore, type PodStore } from '../../helpers/api-pods.js';
import { type FakeApi, NODE, startFakeApi } from '../../helpers/api-server.js';
import { FakeClock, seededRandom } from '../../helpers/fake-clock.js';
import { eventually, TOKEN } from '../../helpers/host-root.js';

/** When the node's Multus config came into place; "before" pods were ready a minute earlier. */
const SINCE = Date.now() - 10_000;
const BEFORE = SINCE - 60_000;
const AFTER = SINCE + 3000;
const STATUS_WITH_NET1 = [{ name: 'cbr0', interface: 'eth0', default: true }, { name: 'apps/macvlan-net1', interface: 'net1' }];

let api: FakeApi;
let pods: PodStore;
let repair: PodRepair | undefined;
let lines: string[];
let results: NodeEvent[];

beforeEach(async () => {
  pods = podStore();
  api = await startFakeApi({ daemonSet: 'present', token: TOKEN, pods });
  lines = [];
  results = [];
});
afterEach(async () => {
  await repair?.close(1000);
  repair = undefined;
  await api.close();
});

function start(opts: { events?: boolean; clock?: FakeClock } = {}): PodRepair {
  const access = async (): Promise<ApiAccess> => ({ protocol: 'http', host: '127.0.0.1', port: String(api.port), token: TOKEN, ca: undefined, skipTlsVerify: false });
  const log = createLogger('text', (line) => lines.push(line));
  repair = new PodRepair(access, NODE, log, { notify: (e) => results.push(e) }, { events: opts.events ?? true, ...(opts.clock ? { clock: opts.clock, random: seededRandom(7) } : {}) });
  return repair;
}

const logged = (): string => lines.join('');
const eventsOn = (name: string): Record<string, unknown>[] => api.events.filter((e) => e.regarding?.name === name);
const repairResults = (): string[] => results.map((e) => (e.kind === 'repair' ? `${e.result} ${e.pod}` : e.kind));

describe('a repair pass', () => {
  it('evicts the pods that started too early, warns about the bare one, and leaves every other pod alone', async () => {
    pods.add(
      kubeletPod({ name: 'comma-form', networks: 'macvlan-net1@net1', sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'json-form', networks: '[{"name":"macvlan-net1","interface":"net1"}]', status: [STATUS_WITH_NET1[0]!], sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'bare', networks: 'macvlan-net1', sandboxReadyAt: BEFORE, owner: null }),
      kubeletPod({ name: 'attached', networks: 'macvlan-net1', status: STATUS_WITH_NET1, sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'no-networks', sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'host-net', networks: 'macvlan-net1', hostNetwork: true, sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'done', networks: 'macvlan-net1', phase: 'Succeeded', sandboxReadyAt: BEFORE }),
      kubeletPod({ name: 'later', networks: 'macvlan-net1', sandboxReadyAt: AFTER }),
      kubeletPod({ name: 'elsewhere', networks: 'macvlan-net1', node: 'node-2', sandboxReadyAt: BEFORE }),
    );
    start().request(SINCE);
    await eventually(async () => repairResults().length, (n) => n >= 3, 20_000, 'three repair results');
    await eventually(async () => eventsOn('bare').length + eventsOn('comma-form').length + eventsOn('json-form').length, (n) => n >= 3, 20_000, 'three pod Events');
    // The pass goes on past the last Event to the pods listed after it: wait for the last one's line.
    await eventually(async () => logged(), (text) => text.includes('pod=apps/later'), 20_000, 'the line on the pod that came up later');

    expect(pods.evicted.sort()).toEqual(['apps/comma-form', 'apps/json-form']);
    expect([...pods.pods.keys()].sort()).toEqual(['apps/attached', 'apps/bare', 'apps/done', 'apps/elsewhere', 'apps/host-net', 'apps/later', 'apps/no-networks']);
    expect(repairResults().sort()).toEqual(['evicted apps/comma-form', 'evicted apps/json-form', 'left_alone apps/bare']);

    // The list asked for this node only.
    expect(pods.lists.map((q) => q.get('fieldSelector'))).toEqual(['spec.nodeName=node-1']);
    // Exactly the pod read: another pod of that name, or one changed since, is refused.
    expect(pods.evictions.find((e) => e.pod === 'apps/comma-form')?.body).toEqual({
      apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'comma-form', namespace: 'apps' },
      deleteOptions: { preconditions: { uid: 'uid-comma-form', resourceVersion: '7' } },
    });

    expect(eventsOn('comma-form')).toEqual([expect.objectContaining({
      type: 'Normal', reason: 'EvictedForMissingNetworks', action: 'Evict',
      metadata: expect.objectContaining({ namespace: 'apps' }),
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'apps', name: 'comma-form', uid: 'uid-comma-form' },
      note: expect.stringMatching(/^evicted by --repair-pods: it runs without apps\/macvlan-net1 because its sandbox was ready at .*, before the Multus config was in place on node node-1 .*; ReplicaSet\/comma-form-rs recreates it with its networks$/),
    })]);
    expect(eventsOn('bare')).toEqual([expect.objectContaining({
      type: 'Warning', reason: 'MissingNetworks',
      note: expect.stringMatching(/^runs without apps\/macvlan-net1 because .*; it has no controller to recreate it, so --repair-pods left it running: delete and recreate it to get them$/),
    })]);
    for (const name of ['attached', 'no-networks', 'host-net', 'done', 'later', 'elsewhere']) expect(eventsOn(name)).toEqual([]);

    expect(logged()).toMatch(/INFO  --repair-pods: evicted a pod that started before the Multus config was in place pod=apps\/comma-form lacks=apps\/macvlan-net1 owner=ReplicaSet\/comma-form-rs sandboxReady=\S+ configInPlace=\S+/);
    expect(logged()).toMatch(/WARN  --repair-pods: a pod started before the Multus config was in place and nothing would recreate it: left alone pod=apps\/bare/);
    // The pod whose sandbox came up after the config lacks its networks for another reason: said, not touched.
    expect(logged()).toMatch(/WARN  --repair-pods: a pod lacks its networks, but its sandbox came up after the Multus config was in place .*pod=apps\/later/);
    expect(logged()).not.toContain(TOKEN);
  });

  it('pages through a node with many pods', async () => {
    for (let i = 0; i < 120; i++) pods.add(kubeletPod({ name: `p${i}`, networks: 'macvlan-net1', status: STATUS_WITH_NET1, sandboxReadyAt: BEFORE }));
    pods.add(kubeletPod({ name: 'z-last', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    start().request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the last pod evicted');
    expect(pods.evicted).toEqual(['apps/z-last']);
    expect(pods.lists.map((q) => [q.get('limit'), q.get('continue')])).toEqual([['50', null], ['50', '50'], ['50', '100']]);
  });

  it('follows a page that holds no pods but a continue token (a field selector filters after the page is cut)', async () => {
    pods.add(kubeletPod({ name: 'on-page-two', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    const handle = pods.handle;
    pods.handle = (req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (req.method === 'GET' && url.pathname === '/api/v1/pods' && !url.searchParams.has('continue')) {
        pods.lists.push(url.searchParams);
        // As the API server writes an empty page: no items at all.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1000', continue: '0' } }));
        return true;
      }
      return handle(req, res, body);
    };
    start({ events: false }).request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 8_000, 'the pod of the second page evicted');
    expect(pods.lists.map((q) => q.get('continue'))).toEqual([null, '0']);
    expect(lines.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([]);
  });

  it('paces evictions: a burst of five, then one a second', async () => {
    for (let i = 0; i < 8; i++) pods.add(kubeletPod({ name: `early-${i}`, networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    const t0 = Date.now();
    start({ events: false }).request(SINCE);
    await eventually(async () => pods.evicted.length, (n) => n === 8, 30_000, 'eight evictions');
    // The last three wait for a token each: at least ~3 s after the start.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
    expect(api.events).toEqual([]);
  });

  it('retries a pod its PodDisruptionBudget protects, until the budget allows it', async () => {
    pods.add(kubeletPod({ name: 'guarded', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    pods.answers.set('apps/guarded', 'pdb');
    // Retry waits pass on a fake clock, at once.
    const clock = new FakeClock();
    start({ clock }).request(SINCE);
    await eventually(async () => pods.evictions.length, (n) => n >= 3, 20_000, 'three eviction attempts');
    expect(pods.evicted).toEqual([]);
    // Each wait jittered in [d, 2d), d doubling from 5 s (the budget's 429 asks for no particular wait).
    const [w1, w2] = clock.sleeps;
    expect(w1).toBeGreaterThanOrEqual(5000);
    expect(w1).toBeLessThan(10_000);
    expect(w2).toBeGreaterThanOrEqual(10_000);
    expect(w2).toBeLessThan(20_000);
    pods.answers.delete('apps/guarded');
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the eviction once the budget allows it');
    // Said once, counted each time.
    expect(lines.filter((l) => /PodDisruptionBudget does not allow evicting/.test(l))).toHaveLength(1);
    expect(logged()).toMatch(/pod=apps\/guarded error=.*HTTP 429: Cannot evict pod as it would violate the pod's disruption budget/);
    expect(repairResults().filter((r) => r.startsWith('blocked')).length).toBeGreaterThanOrEqual(3);
    expect(repairResults().at(-1)).toBe('evicted apps/guarded');
  });

  it('waits as long as a loaded API server asks (Retry-After), jittered, then evicts', async () => {
    pods.add(kubeletPod({ name: 'shed', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    pods.answers.set('apps/shed', 'busy');
    const clock = new FakeClock();
    start({ clock }).request(SINCE);
    await eventually(async () => pods.evictions.length, (n) => n >= 2, 20_000, 'a retried eviction');
    pods.answers.delete('apps/shed');
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the eviction once the server takes it');
    // Retry-After: 20 raises the first wait from 5 s to 20 s, still jittered: [20 s, 40 s).
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(20_000);
    expect(clock.sleeps[0]).toBeLessThan(40_000);
    // Said as what it is: the server's load, not a budget.
    expect(logged()).toMatch(/--repair-pods: the API server is shedding load \(429\) and did not take the eviction; retrying with backoff pod=apps\/shed/);
    expect(logged()).not.toMatch(/PodDisruptionBudget/);
  });

  it('says once, naming the permission, when RBAC refuses the eviction; the pod stays', async () => {
    pods.add(kubeletPod({ name: 'a', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }), kubeletPod({ name: 'b', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    pods.answers.set('apps/a', 403);
    pods.answers.set('apps/b', 403);
    start({ clock: new FakeClock() }).request(SINCE);
    await eventually(async () => pods.evictions.length, (n) => n >= 3, 20_000, 'retried evictions');
    expect(pods.pods.size).toBe(2);
    expect(lines.filter((l) => /cannot evict a pod/.test(l))).toHaveLength(1);
    expect(logged()).toMatch(/ERROR --repair-pods: cannot evict a pod .* error=.*HTTP 403: .*grant the service account create on pods\/eviction/);
    // A refusal stops the pass: the second pod is not tried until the retry.
    expect(pods.evictions[0]!.pod).toBe('apps/a');
    expect(pods.evictions[1]!.pod).toBe('apps/a');
  });

  it('reads each pod again before evicting it: one Multus attached in the meantime stays', async () => {
    const early = kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: BEFORE });
    const racing = kubeletPod({ name: 'racing', networks: 'macvlan-net1', sandboxReadyAt: BEFORE });
    pods.add(early, racing);
    // Between the list and the eviction, its sandbox is recreated with Multus and the status written.
    const handle = pods.handle;
    pods.handle = (req, res, body) => {
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/apps/pods/racing') {
        racing.metadata.annotations['k8s.v1.cni.cncf.io/network-status'] = JSON.stringify(STATUS_WITH_NET1);
        racing.metadata.resourceVersion = '8';
      }
      return handle(req, res, body);
    };
    start().request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the early pod evicted');
    await eventually(async () => api.requests.filter((r) => r.path === '/api/v1/namespaces/apps/pods/racing').length, (n) => n === 1, 20_000, 'the racing pod read');
    expect(pods.evicted).toEqual(['apps/early']);
    expect(pods.evictions.map((e) => e.pod)).toEqual(['apps/early']);
  });

  it('a later request looks again with the later moment: pods that started in a new gap', async () => {
    start().request(SINCE);
    await eventually(async () => pods.lists.length, (n) => n === 1, 20_000, 'the first list');
    // The config was removed and restored: a pod started in between.
    pods.add(kubeletPod({ name: 'in-the-gap', networks: 'macvlan-net1', sandboxReadyAt: AFTER }));
    repair!.request(AFTER + 2000);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the pod of the gap evicted');
    expect(pods.evicted).toEqual(['apps/in-the-gap']);
  });
});

describe('a repair pass, when things go wrong', () => {
  it('a list the API server refuses is said once and retried with backoff; the pod is evicted once it answers', async () => {
    pods.add(kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    api.set({ busy: { status: 503, times: 3, match: /^GET \/api\/v1\/pods$/ } });
    const clock = new FakeClock();
    start({ clock }).request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 20_000, 'the eviction once the list is answered');
    expect(pods.lists).toHaveLength(1);
    // Three refusals, three waits, each the backoff's: doubling from 5 s, jittered in [d, 2d).
    expect(clock.sleeps).toHaveLength(3);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(5000);
    expect(clock.sleeps[0]).toBeLessThan(10_000);
    expect(clock.sleeps[2]).toBeGreaterThanOrEqual(20_000);
    expect(lines.filter((l) => /cannot list the pods on this node; retrying with backoff/.test(l))).toHaveLength(1);
    expect(logged()).toMatch(/ERROR --repair-pods: cannot list the pods on this node; retrying with backoff node=node-1 error=.*503/);
  });

  it('a list shed with Retry-After waits at least as long as the server asks', async () => {
    api.set({ busy: { status: 429, retryAfter: '30', times: 1, match: /^GET \/api\/v1\/pods$/ } });
    const clock = new FakeClock();
    start({ clock }).request(SINCE);
    await eventually(async () => pods.lists.length, (n) => n === 1, 20_000, 'the list answered after the wait');
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(30_000);
    expect(clock.sleeps[0]).toBeLessThan(60_000);
  });

  it('Events RBAC refuses are said once; the evictions go on', async () => {
    api.set({ events: 403 });
    pods.add(kubeletPod({ name: 'a', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }), kubeletPod({ name: 'b', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    start().request(SINCE);
    await eventually(async () => pods.evicted.length, (n) => n === 2, 20_000, 'both pods evicted');
    await eventually(async () => lines.filter((l) => /cannot record a Kubernetes Event on a pod/.test(l)).length, (n) => n === 1, 20_000, 'the refusal said');
    expect(logged()).toMatch(/WARN  --repair-pods: cannot record a Kubernetes Event on a pod; later failures are not logged pod=apps\/a error=.*403/);
    expect(repairResults().sort()).toEqual(['evicted apps/a', 'evicted apps/b']);
  });

  it('a pod whose networks annotation cannot be read is left alone, said once however often it is looked at', async () => {
    pods.add(kubeletPod({ name: 'garbled', networks: '[{"name": "macvlan-net1"', sandboxReadyAt: BEFORE }));
    start().request(SINCE);
    await eventually(async () => pods.lists.length, (n) => n === 1, 20_000, 'the first list');
    repair!.request(SINCE);
    await eventually(async () => pods.lists.length, (n) => n === 2, 20_000, 'the second list');
    await repair!.close(1000);
    expect(pods.evictions).toEqual([]);
    expect(lines.filter((l) => /annotation cannot be read/.test(l))).toHaveLength(1);
    expect(logged()).toMatch(/WARN  --repair-pods: a pod's k8s\.v1\.cni\.cncf\.io\/networks annotation cannot be read: left alone pod=apps\/garbled/);
  });

  it('a pod whose network-status annotation cannot be read is left alone, the warning naming that annotation', async () => {
    const garbled = kubeletPod({ name: 'garbled-status', networks: 'macvlan-net1', sandboxReadyAt: BEFORE });
    garbled.metadata.annotations['k8s.v1.cni.cncf.io/network-status'] = '[{"name": "cbr0"';
    pods.add(garbled);
    start().request(SINCE);
    await eventually(async () => lines.filter((l) => /annotation cannot be read/.test(l)), (l) => l.length === 1, 20_000, 'the warning');
    await repair!.close(1000);
    expect(pods.evictions).toEqual([]);
    expect(logged()).toMatch(/WARN  --repair-pods: a pod's k8s\.v1\.cni\.cncf\.io\/network-status annotation cannot be read: left alone pod=apps\/garbled-status/);
  });

  it('a read of the pod RBAC refuses is said, naming the request and the permission; nothing is evicted', async () => {
    pods.add(kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    const handle = pods.handle;
    pods.handle = (req, res, body) => {
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/apps/pods/early') {
        res.writeHead(403, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods "early" is forbidden: User "system:serviceaccount:kube-system:multus" cannot get resource "pods" in API group "" in the namespace "apps"' }));
        return true;
      }
      return handle(req, res, body);
    };
    start({ clock: new FakeClock() }).request(SINCE);
    await eventually(async () => lines.filter((l) => /cannot evict a pod/.test(l)), (l) => l.length === 1, 20_000, 'the refusal said');
    expect(logged()).toMatch(/ERROR --repair-pods: cannot evict a pod .* error="get pod apps\/early: HTTP 403: pods \\"early\\" is forbidden: .* \(grant the service account get on pods\)"/);
    expect(pods.evictions).toEqual([]);
    expect(repairResults()).toContain('failed apps/early');
  });

  it('a pod deleted between the list and its read is let be, quietly; the others are evicted', async () => {
    pods.add(kubeletPod({ name: 'deleted', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }), kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    const handle = pods.handle;
    pods.handle = (req, res, body) => {
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/apps/pods/deleted') pods.pods.delete('apps/deleted');
      return handle(req, res, body);
    };
    start({ events: false }).request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 8_000, 'the other pod evicted');
    expect(pods.evictions.map((e) => e.pod)).toEqual(['apps/early']);
    expect(repairResults()).toEqual(['evicted apps/early']);
    expect(lines.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([]);
  });

  it('a pod changed between its read and the eviction (409) is read again and evicted as it is now', async () => {
    const changing = kubeletPod({ name: 'changing', networks: 'macvlan-net1', sandboxReadyAt: BEFORE });
    pods.add(changing);
    const handle = pods.handle;
    let reads = 0;
    pods.handle = (req, res, body) => {
      // Once, right after the read: a label added, a new resourceVersion.
      if (req.method === 'GET' && req.url === '/api/v1/namespaces/apps/pods/changing' && ++reads === 1) {
        const answered = handle(req, res, body);
        changing.metadata.resourceVersion = '8';
        return answered;
      }
      return handle(req, res, body);
    };
    start({ events: false, clock: new FakeClock() }).request(SINCE);
    await eventually(async () => pods.evicted, (e) => e.length === 1, 8_000, 'the pod evicted on the retry');
    expect(pods.evictions.map((e) => (e.body as { deleteOptions: { preconditions: { resourceVersion: string } } }).deleteOptions.preconditions.resourceVersion)).toEqual(['7', '8']);
    expect(lines.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([]);
  });

  it('once closed, a request looks at nothing', async () => {
    pods.add(kubeletPod({ name: 'early', networks: 'macvlan-net1', sandboxReadyAt: BEFORE }));
    const r = start();
    await r.close(1000);
    r.request(SINCE);
    await new Promise((res) => setImmediate(res));
    expect(pods.lists).toEqual([]);
    expect(pods.pods.size).toBe(1);
  });
});
