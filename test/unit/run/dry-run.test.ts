// --dry-run's plan on stdout (test/unit/run/run.test.ts prints one through
// the whole run): each file with its mode and content masked, each removal,
// the master's rename, and the notes given, each a comment line.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Desired } from '../../../src/core/desired.js';
import { printPlan } from '../../../src/run/dry-run.js';

const SECRET = 'plan-token-never-log-me';
let out: string[];
let write: ReturnType<typeof jest.spyOn>;
beforeEach(() => {
  out = [];
  write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; });
});
afterEach(() => { write.mockRestore(); });

const mask = (text: string): string => text.replaceAll(SECRET, '***');
const desired = (o: Partial<Desired> = {}): Desired => ({
  files: [{ path: '/etc/cni/net.d/00-multus.conf', mode: 0o600, what: 'Multus config', content: `{"token":"${SECRET}"}\n` }],
  remove: ['/etc/cni/net.d/00-multus.conflist'],
  skipped: [],
  errors: [],
  ...o,
});

describe('printPlan', () => {
  it('says what would be written (masked), removed and renamed, after the notes', () => {
    printPlan(desired({ renameMaster: { from: '/etc/cni/net.d/10-flannel.conflist', to: '/etc/cni/net.d/10-flannel.conflist.old' } }), mask, ['a note', '']);
    expect(out.join('')).toBe([
      '# a note',
      '# would write /etc/cni/net.d/00-multus.conf (mode 0600, the Multus config)',
      '{"token":"***"}',
      '# would remove /etc/cni/net.d/00-multus.conflist if present',
      '# would rename /etc/cni/net.d/10-flannel.conflist to /etc/cni/net.d/10-flannel.conflist.old',
      '',
    ].join('\n'));
  });

  it('without notes or a rename, only the plan', () => {
    printPlan(desired({ remove: [] }), mask);
    expect(out.join('')).toBe('# would write /etc/cni/net.d/00-multus.conf (mode 0600, the Multus config)\n{"token":"***"}\n');
  });
});
