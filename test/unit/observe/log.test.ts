// Logs: one line per event with time and level; secrets never appear; by
// default each line goes whole to fd 2, and through process.stderr once fd 2
// would block, in order.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import * as realFs from 'node:fs';
import { createLogger } from '../../../src/observe/log.js';

function capture(format: 'text' | 'json') {
  const lines: string[] = [];
  return { lines, log: createLogger(format, (l) => lines.push(l)) };
}

describe('createLogger', () => {
  it('writes text lines with an ISO time, the level and key=value fields', () => {
    const { lines, log } = capture('text');
    log.info('wrote the kubeconfig', { file: '/a b/c' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}wrote the kubeconfig file="\/a b\/c"\n$/);
  });

  it('leaves out fields that are undefined', () => {
    const { lines, log } = capture('text');
    log.info('no master yet', { master: undefined, dir: '/etc/cni/net.d' });
    expect(lines[0]).toMatch(/ INFO {2}no master yet dir=\/etc\/cni\/net\.d\n$/);
  });

  it('writes one JSON object per line', () => {
    const { lines, log } = capture('json');
    log.error('cannot write', { file: '/x', attempt: 2 });
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.any(String), level: 'error', msg: 'cannot write', file: '/x', attempt: 2 });
  });

  it('masks a registered secret in messages and fields', () => {
    const { lines, log } = capture('json');
    log.addSecret('s3cr3t-token-value');
    log.warn('saw s3cr3t-token-value', { detail: 'x s3cr3t-token-value y' });
    expect(lines.join('')).not.toContain('s3cr3t-token-value');
    expect(log.mask('a s3cr3t-token-value')).toBe('a [redacted]');
  });

  it('does not take a value shorter than 8 characters as a secret (it would mask ordinary words)', () => {
    const { lines, log } = capture('text');
    log.addSecret('conf');
    log.addSecret('12345678');
    log.info('wrote 00-multus.conf 12345678');
    expect(lines[0]).toMatch(/wrote 00-multus\.conf \[redacted\]\n$/);
  });

  it('keeps masking the latest secrets after many rotations', () => {
    const { lines, log } = capture('text');
    for (let i = 0; i < 1000; i++) log.addSecret(`rotated-token-${i}`);
    log.info('rotated-token-999 rotated-token-998');
    expect(lines[0]).not.toMatch(/rotated-token-99[89]/);
  });
});

describe('the default writer: fd 2, then process.stderr', () => {
  /** Bytes in the order they reached fd 2 or the stream, and by which. */
  let out: { to: 'fd' | 'stream'; text: string }[];
  let fdWrites: number;
  afterEach(() => { jest.restoreAllMocks(); });

  /**
   * A fresh log.ts whose node:fs writeSync is `take` (fd 2 of this process
   * cannot be read back in-process), and process.stderr recorded.
   */
  async function defaultLogger(take: (bytes: Uint8Array, call: number) => number): Promise<ReturnType<typeof createLogger>> {
    out = [];
    fdWrites = 0;
    const writeSync = (fd: number, bytes: Uint8Array): number => {
      fdWrites++;
      // A write of nothing would never end the loop: a bug, so fail here rather than hang.
      if (fd !== 2 || bytes.length === 0) throw new Error(`unexpected write of ${bytes.length} bytes to fd ${fd}`);
      const n = take(bytes, fdWrites);
      out.push({ to: 'fd', text: Buffer.from(bytes.subarray(0, n)).toString() });
      return n;
    };
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push({ to: 'stream', text: Buffer.from(chunk).toString() }); return true; });
    let fresh: typeof createLogger | undefined;
    await jest.isolateModulesAsync(async () => {
      jest.unstable_mockModule('node:fs', () => ({ ...realFs, default: realFs, writeSync }));
      fresh = (await import('../../../src/observe/log.js')).createLogger;
    });
    if (!fresh) throw new Error('log.ts not loaded');
    return fresh('text');
  }
  const text = (to: 'fd' | 'stream'): string => out.filter((o) => o.to === to).map((o) => o.text).join('');

  it('writes each line whole to fd 2, even when fd 2 takes a few bytes at a time', async () => {
    const log = await defaultLogger((bytes) => Math.min(bytes.length, 7));
    log.info('installed the multus binary', { file: '/opt/cni/bin/multus' });
    log.warn('second line');
    expect(text('fd')).toMatch(/^\S+Z INFO {2}installed the multus binary file=\/opt\/cni\/bin\/multus\n\S+Z WARN {2}second line\n$/);
    expect(text('stream')).toBe('');
  });

  it('once fd 2 would block, the rest of that line and every later line go through process.stderr, in order', async () => {
    const log = await defaultLogger((bytes, call) => {
      if (call === 1) return 10;
      throw Object.assign(new Error('EAGAIN: resource temporarily unavailable, write'), { code: 'EAGAIN' });
    });
    log.info('first line');
    log.error('second line');
    log.info('third line');
    expect(text('fd').length).toBe(10);
    // Nothing lost, nothing twice: the fd's part and the stream's make the lines.
    expect(text('fd') + text('stream')).toMatch(/^\S+Z INFO {2}first line\n\S+Z ERROR second line\n\S+Z INFO {2}third line\n$/);
    // fd 2 is not tried again once the stream took over.
    expect(fdWrites).toBe(2);
  });
});
