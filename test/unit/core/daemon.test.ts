// Thick mode's wait for multus-daemon (src/core/daemon.ts): what the wait
// says, and how soon the loop looks again. The socket is asked every second
// while the daemon is waited for (it may come up unseen by the watcher);
// anything else waits for the resync timer.
import { describe, expect, it } from '@jest/globals';
import { daemonWait, reconcileWaitMs } from '../../../src/core/daemon.js';

describe('reconcileWaitMs', () => {
  it('asks a daemon that does not answer again after a second, whatever the resync interval', () => {
    expect(reconcileWaitMs('daemon', 3600)).toBe(1000);
    expect(reconcileWaitMs('daemon', 0)).toBe(1000);
  });

  it('otherwise waits for the resync interval', () => {
    expect(reconcileWaitMs(undefined, 3600)).toBe(3_600_000);
    expect(reconcileWaitMs('master', 30)).toBe(30_000);
    expect(reconcileWaitMs('readiness', 5)).toBe(5000);
  });
});

describe('daemonWait', () => {
  it('names the socket and the flag, and why it did not answer when known', () => {
    expect(daemonWait({ socket: '/run/multus/multus.sock', ready: false, why: 'connection refused' }))
      .toBe('multus-daemon to answer on /run/multus/multus.sock (--daemon-socket-dir): connection refused');
    expect(daemonWait({ socket: '/run/multus/multus.sock', ready: false })).toBe('multus-daemon to answer on /run/multus/multus.sock (--daemon-socket-dir)');
  });
});
