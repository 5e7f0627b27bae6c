// A suite that skips must not look green under CI=true: the e2e summary
// reporter (run by a real jest on a suite that skips) fails the run there,
// and only reports the skip elsewhere.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/host-root.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'multus-ci-honesty-'));
  await fsp.writeFile(join(dir, 'skipped.test.js'), "test.skip('a scenario that did not run', () => {});\n");
  await fsp.mkdir(join(dir, 'run'));
  await fsp.writeFile(join(dir, 'run', 'state.json'), JSON.stringify({ skip: 'cannot create network namespaces here' }));
});
afterAll(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

function jestWithE2eReporter(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  const config = JSON.stringify({ rootDir: dir, testMatch: ['<rootDir>/*.test.js'], reporters: [join(REPO, 'test/e2e/summary-reporter.js')], verbose: true });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'node_modules/jest/bin/jest.js'), '--config', config], {
      cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.resume();
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('the e2e summary reporter', () => {
  it('fails a skipped suite under CI=true', async () => {
    const r = await jestWithE2eReporter({ CI: 'true', MULTUS_E2E_RUN_DIR: join(dir, 'run') });
    expect(r.stdout).toMatch(/^e2e: skipped: cannot create network namespaces here \(FAILED: CI=true\)$/m);
    expect(r.code).toBe(1);
  }, 60_000);

  it('fails skipped tests under CI=true even when the suite as a whole ran', async () => {
    const r = await jestWithE2eReporter({ CI: '1', MULTUS_E2E_RUN_DIR: join(dir, 'none') });
    expect(r.stdout).toMatch(/e2e: 1 test\(s\) skipped, and CI=1: a suite that skips fails in CI/);
    expect(r.code).toBe(1);
  }, 60_000);

  it('reports the skip, without failing, outside CI', async () => {
    const r = await jestWithE2eReporter({ MULTUS_E2E_RUN_DIR: join(dir, 'run') });
    expect(r.stdout).toMatch(/^e2e: skipped: cannot create network namespaces here$/m);
    expect(r.code).toBe(0);
  }, 60_000);
});
