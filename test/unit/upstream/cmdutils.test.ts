// Upstream's unit case, ported: multus-cni v4.3.0 pkg/cmdutils/utils_test.go,
// It("Run CopyFileAtomic()"). It asserts what that case asserts, on this
// program's copy (src/host/files.ts copyFileAtomic, which installBinaries in
// src/host/binary.ts uses for multus and passthru), and says what changed.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../../../src/cli/command-line.js';
import { installBinaries } from '../../../src/host/binary.js';
import { copyFileAtomic } from '../../../src/host/files.js';
import { createLogger } from '../../../src/observe/log.js';

let tmp: string;
let srcFilePath: string;
let destDir: string;
let destFilePath: string;
beforeEach(async () => {
  tmp = await fsp.mkdtemp(join(tmpdir(), 'multus_thin_entrypoint_tmp'));
  const srcDir = join(tmp, 'src');
  destDir = join(tmp, 'dest');
  await fsp.mkdir(srcDir, { mode: 0o755 });
  await fsp.mkdir(destDir, { mode: 0o755 });
  srcFilePath = join(srcDir, 'sampleInput');
  await fsp.writeFile(srcFilePath, 'sampleInputABC');
  await fsp.chmod(srcFilePath, 0o744);
  // the old file in dest
  destFilePath = join(destDir, 'sampleInputDest');
  await fsp.writeFile(destFilePath, 'inputOldXYZ');
  await fsp.chmod(destFilePath, 0o611);
});
afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('CopyFileAtomic()', () => {
  // Upstream: the source (0744, "sampleInputABC") replaces an old file in
  // dest (0611, "inputOldXYZ"); afterwards dest has the source's content and
  // mode 0744. Changed: upstream copies the source's mode; here the caller
  // gives the mode (0744 here, to assert the same outcome); the temporary
  // file is named by the program (upstream's caller names it), so the test
  // also asserts that none is left beside dest.
  it("replaces the old file with the source's content, at the mode asked for, leaving no temporary file", async () => {
    await copyFileAtomic(srcFilePath, destFilePath, 0o744);
    expect((await fsp.stat(destFilePath)).mode & 0o7777).toBe(0o744);
    expect(await fsp.readFile(destFilePath, 'utf8')).toBe('sampleInputABC');
    expect(await fsp.readdir(destDir)).toEqual(['sampleInputDest']);
  });

  // Changed (the consequence of the mode being the caller's): a binary is
  // installed 0755, the mode docs/security.md lists, whatever the source's
  // mode; upstream's install_multus would carry the 0744 above over.
  it('installs a binary at 0755 whatever the mode of its source', async () => {
    const installed = join(destDir, 'multus');
    const parsed = parseCommandLine([`--multus-bin-file=${srcFilePath}`, `--cni-bin-dir=${destDir}`, '--passthru-bin-file='], {});
    if (parsed.kind !== 'run') throw new Error('expected a run');
    await installBinaries(parsed.options, createLogger('text', () => undefined));
    expect((await fsp.stat(installed)).mode & 0o7777).toBe(0o755);
    expect(await fsp.readFile(installed, 'utf8')).toBe('sampleInputABC');
  });
});
