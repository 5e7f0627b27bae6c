// Logs: one line per event with time and level; secrets never appear.
import { describe, expect, it } from '@jest/globals';
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

  it('keeps masking the latest secrets after many rotations', () => {
    const { lines, log } = capture('text');
    for (let i = 0; i < 1000; i++) log.addSecret(`rotated-token-${i}`);
    log.info('rotated-token-999 rotated-token-998');
    expect(lines[0]).not.toMatch(/rotated-token-99[89]/);
  });
});
