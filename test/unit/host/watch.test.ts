// What wakes the loop, in this process on a temporary host root
// (test/cli/watch.test.ts, rotation.test.ts and readiness.test.ts see the
// built program react): a burst of kicks is one wake-up; a change in a
// config dir, a dir removed and made again, the kubelet's ..data swap of the
// service account, and a readiness file appearing under dirs that did not
// exist each wake it.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { startWatcher, Trigger, type Watcher, watchTargets } from '../../../src/host/watch.js';
import { createLogger } from '../../../src/observe/log.js';
import { eventually, type HostRoot, makeHostRoot, TOKEN, writeServiceAccount } from '../../helpers/host-root.js';

describe('Trigger', () => {
  it('a kick before the wait: the wait ends at once, with an event', async () => {
    const t = new Trigger();
    t.kick();
    expect(await t.wait(60_000)).toBe('event');
  });

  it('no kick: the wait ends at its timeout', async () => {
    expect(await new Trigger().wait(20)).toBe('timeout');
  });

  it('a burst of kicks during a wait is one wake-up, not one per kick', async () => {
    const t = new Trigger();
    const waiting = t.wait(60_000);
    for (let i = 0; i < 5; i++) t.kick();
    expect(await waiting).toBe('event');
    expect(await t.wait(50)).toBe('timeout');
  });

  it('a kick after a wake-up wakes the next wait', async () => {
    const t = new Trigger();
    const first = t.wait(60_000);
    t.kick();
    await first;
    const second = t.wait(60_000);
    t.kick();
    expect(await second).toBe('event');
  });
});

describe('watchTargets', () => {
  const o = { multusConfFile: 'auto', multusAutoconfigDir: '/host/auto', cniConfDir: '/host/net.d', serviceAccountDir: '/sa', readinessIndicatorFile: '', mode: 'thin' as const, daemonSocketDir: '/host/run/multus' };
  it('auto: the autoconfig dir, the conf dir and the kubeconfig dir; the service-account dir apart', () => {
    expect(watchTargets(o, '/host/net.d/multus.d', '')).toEqual({
      configDirs: ['/host/auto', '/host/net.d', '/host/net.d/multus.d'], files: [], secretDirs: ['/sa'], maybePaths: [],
    });
  });
  it('each dir once; a non-auto source file; a CA elsewhere; the readiness file', () => {
    expect(watchTargets({ ...o, multusConfFile: '/image/70-multus.conf', multusAutoconfigDir: '/host/net.d', readinessIndicatorFile: '/run/flannel/subnet.env' }, '/host/net.d/multus.d', '/ca/ca.crt')).toEqual({
      configDirs: ['/host/net.d', '/host/net.d/multus.d'], files: ['/image/70-multus.conf'], secretDirs: ['/sa', '/ca'], maybePaths: ['/run/flannel/subnet.env'],
    });
  });
  it('thick: no kubeconfig dir; the daemon\'s socket, which may not exist yet', () => {
    expect(watchTargets({ ...o, mode: 'thick' }, '/host/net.d/multus.d', '')).toEqual({
      configDirs: ['/host/auto', '/host/net.d'], files: [], secretDirs: ['/sa'], maybePaths: ['/host/run/multus/multus.sock'],
    });
  });
});

describe('startWatcher', () => {
  let h: HostRoot;
  let watcher: Watcher | undefined;
  let events = 0;
  /** What chokidar said each time (event name, path); fs.watch says other things. */
  let seen: unknown[][] = [];
  const lines: string[] = [];
  beforeEach(async () => {
    h = await makeHostRoot();
    events = 0;
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await h.remove();
  });

  const kubeconfigDir = (): string => join(h.confDir, 'multus.d');
  const readiness = (): string => join(h.root, 'run/flannel/subnet.env');
  async function watch(): Promise<void> {
    await fsp.mkdir(kubeconfigDir(), { recursive: true });
    watcher = await startWatcher({ configDirs: [h.confDir, kubeconfigDir()], files: [], secretDirs: [h.saDir], maybePaths: [readiness()] }, (...args: unknown[]) => { events++; seen.push(args); }, createLogger('text', (l) => { lines.push(l); }));
    events = 0;
  }
  /** Runs `act`, then waits until it woke the loop. */
  async function wakes(what: string, act: () => Promise<unknown>): Promise<void> {
    events = 0;
    await act();
    await eventually(async () => events, (n) => n > 0, 10_000, what);
  }

  it('wakes on a master added, changed and removed', async () => {
    await watch();
    const master = join(h.confDir, '10-flannel.conflist');
    await wakes('a master added', () => fsp.writeFile(master, '{}'));
    await wakes('a master changed', () => fsp.writeFile(master, '{"a":1}'));
    await wakes('a master removed', () => fsp.rm(master));
  });

  it('does not report what is already there when it starts, only what changes after', async () => {
    const old = join(h.confDir, '10-flannel.conflist');
    await fsp.writeFile(old, '{}');
    seen = [];
    watcher = await startWatcher({ configDirs: [h.confDir], files: [], secretDirs: [] }, (...args: unknown[]) => { seen.push(args); }, createLogger('text', (l) => { lines.push(l); }));
    // A change after the start is the witness that chokidar has reported all it will.
    const added = join(h.confDir, '20-new.conf');
    await fsp.writeFile(added, '{}');
    await eventually(async () => seen.some((args) => args[1] === added), (found) => found, 10_000, 'the file added after the start');
    expect(seen.filter((args) => args[1] === old || args[1] === h.confDir)).toEqual([]);
  });

  it('wakes when the non-auto source file (--multus-conf-file) changes or goes', async () => {
    const source = join(h.root, 'image/70-multus.conf');
    await fsp.writeFile(source, '{}');
    watcher = await startWatcher({ configDirs: [], files: [source], secretDirs: [] }, (...args: unknown[]) => { events++; seen.push(args); }, createLogger('text', (l) => { lines.push(l); }));
    await wakes('the source changed', () => fsp.writeFile(source, '{"a":1}'));
    await wakes('the source removed', () => fsp.rm(source));
  });

  it('wakes on the kubeconfig dir removed, and on a change inside it once it is made again', async () => {
    await watch();
    await wakes('multus.d removed', () => fsp.rm(kubeconfigDir(), { recursive: true }));
    await wakes('multus.d made again', () => fsp.mkdir(kubeconfigDir()));
    // The dir is watched again (chokidar re-adds it in the background): a
    // file written into it is seen, named.
    const kubeconfig = join(kubeconfigDir(), 'multus.kubeconfig');
    seen = [];
    await eventually(async () => {
      await fsp.writeFile(kubeconfig, `x${Date.now()}`);
      return seen.some((args) => args[1] === kubeconfig);
    }, (found) => found, 10_000, 'a write inside the new multus.d');
  });

  it('wakes when the kubelet swaps the service account\'s ..data link', async () => {
    await watch();
    await wakes('the token rotated', () => writeServiceAccount(h.saDir, `${TOKEN}-2`, 'CA-2'));
  });

  it('wakes when the readiness file appears under dirs that did not exist, and when they go', async () => {
    await watch();
    await wakes('/run made', () => fsp.mkdir(join(h.root, 'run')));
    await wakes('/run/flannel made', () => fsp.mkdir(join(h.root, 'run/flannel')));
    await wakes('the readiness file written', () => fsp.writeFile(readiness(), 'FLANNEL_NETWORK=10.244.0.0/16\n'));
    await wakes('the dirs removed', () => fsp.rm(join(h.root, 'run'), { recursive: true }));
  });

  it('the look each second moves the watch when a parent dir is renamed away (no event in the watched dir), and wakes the loop only then', async () => {
    // Only the interval is faked: chokidar, fs.watch and eventually keep real timers.
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    try {
      await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
      watcher = await startWatcher({ configDirs: [], files: [], secretDirs: [], maybePaths: [readiness()] }, () => { events++; }, createLogger('text', (l) => { lines.push(l); }));
      // Until health is served, file calls run inline: a look ends within
      // the microtasks that one turn of the event loop (setImmediate) drains.
      const tick = async (): Promise<void> => { jest.advanceTimersByTime(1000); await new Promise((r) => setImmediate(r)); };
      await tick();
      await tick();
      expect(events).toBe(0);
      // A rename of run/ is no event on run/flannel/, the dir watched.
      await fsp.rename(join(h.root, 'run'), join(h.root, 'run-old'));
      await tick();
      expect(events).toBe(1);
      await tick();
      expect(events).toBe(1);
      // Watched at the root now: run/ made again wakes the loop.
      await wakes('run/ made again', () => fsp.mkdir(join(h.root, 'run')));
    } finally {
      jest.useRealTimers();
    }
  });

  it('a look due while the last one still runs is not stacked on it: one move, one wake-up', async () => {
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    try {
      await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
      watcher = await startWatcher({ configDirs: [], files: [], secretDirs: [], maybePaths: [readiness()] }, () => { events++; }, createLogger('text', (l) => { lines.push(l); }));
      await fsp.rename(join(h.root, 'run'), join(h.root, 'run-old'));
      // Two seconds in one go: the second look falls due before the first,
      // waiting on its stat, has ended (as behind a hung path).
      jest.advanceTimersByTime(2000);
      await new Promise((r) => setImmediate(r));
      expect(events).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a look under way when the watcher closes does not wake the loop', async () => {
    jest.useFakeTimers({ doNotFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'nextTick', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    try {
      await fsp.mkdir(join(h.root, 'run/flannel'), { recursive: true });
      const w = await startWatcher({ configDirs: [], files: [], secretDirs: [], maybePaths: [readiness()] }, () => { events++; }, createLogger('text', (l) => { lines.push(l); }));
      // The next look would move the watch (and so wake the loop)...
      await fsp.rename(join(h.root, 'run'), join(h.root, 'run-old'));
      // ...but the watcher closes while that look waits on its first stat.
      jest.advanceTimersByTime(1000);
      await w.close();
      await new Promise((r) => setImmediate(r));
      expect(events).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('once closed, nothing wakes the loop: config dirs, the service account, the readiness path', async () => {
    await fsp.mkdir(join(h.root, 'run'), { recursive: true });
    const targets = { configDirs: [h.confDir], files: [], secretDirs: [h.saDir], maybePaths: [readiness()] };
    const log = createLogger('text', (l) => { lines.push(l); });
    let closedEvents = 0;
    await (await startWatcher(targets, () => { closedEvents++; }, log)).close();
    // A second watcher on the same paths is the witness: once it has seen
    // each change, the closed one would have seen it too.
    seen = [];
    watcher = await startWatcher(targets, (...args: unknown[]) => { events++; seen.push(args); }, log);
    const master = join(h.confDir, '10-flannel.conflist');
    await fsp.writeFile(master, '{}');
    await eventually(async () => seen.some((args) => args[1] === master), (found) => found, 10_000, 'the master added');
    await wakes('the token rotated', () => writeServiceAccount(h.saDir, `${TOKEN}-2`, 'CA-2'));
    await wakes('/run/flannel made', () => fsp.mkdir(join(h.root, 'run/flannel')));
    expect(closedEvents).toBe(0);
  });

  it('a service-account dir that cannot be watched is logged, and the rest still watched', async () => {
    await fsp.mkdir(kubeconfigDir(), { recursive: true });
    watcher = await startWatcher({ configDirs: [h.confDir], files: [], secretDirs: [join(h.root, 'no-sa')] }, () => { events++; }, createLogger('text', (l) => { lines.push(l); }));
    expect(lines.at(-1)).toMatch(/WARN {2}cannot watch the service-account dir; the periodic re-check still runs dir=.*no-sa/);
    await wakes('a master added', () => fsp.writeFile(join(h.confDir, '10-a.conf'), '{}'));
  });
});
