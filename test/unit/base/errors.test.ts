// What a user reads when a file call fails (src/base/errors.ts): the short
// reason each errno becomes in an error message that names the file, and the
// exit code each kind of failure ends the program with.
import { describe, expect, it } from '@jest/globals';
import { describeFsError, JobError, messageOf, UsageError } from '../../../src/base/errors.js';

function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw text of the call, '/host/etc/cni/net.d/x'`), { code });
}

describe('describeFsError', () => {
  it.each([
    ['ENOENT', 'no such file or directory'],
    ['EACCES', 'permission denied'],
    ['EPERM', 'permission denied'],
    ['EISDIR', 'is a directory'],
    ['ENOTDIR', 'a path component is not a directory'],
    ['ELOOP', 'too many levels of symbolic links'],
    ['ENOSPC', 'no space left on device'],
    ['EROFS', 'read-only file system'],
    ['EDQUOT', 'disk quota exceeded'],
    ['EEXIST', 'a file of that name already exists'],
  ])('%s reads "%s"', (code, reason) => {
    expect(describeFsError(fsError(code))).toBe(reason);
  });

  it('any other failure keeps its own message, and a thrown non-error its text', () => {
    expect(describeFsError(fsError('EIO'))).toBe("EIO: raw text of the call, '/host/etc/cni/net.d/x'");
    expect(describeFsError('plain text')).toBe('plain text');
    expect(describeFsError(undefined)).toBe('undefined');
  });
});

describe('messageOf', () => {
  it('is the message of an error and the text of anything else thrown', () => {
    expect(messageOf(new Error('bad /host/x'))).toBe('bad /host/x');
    expect(messageOf(42)).toBe('42');
    expect(messageOf({ toString: () => 'odd value' })).toBe('odd value');
  });
});

describe('exit codes', () => {
  it('a bad flag ends the program with 2, a failed job with 1', () => {
    expect(new UsageError('--x: bad').exitCode).toBe(2);
    expect(new JobError('no master').exitCode).toBe(1);
    expect(new UsageError('--x: bad')).toBeInstanceOf(Error);
  });
});
