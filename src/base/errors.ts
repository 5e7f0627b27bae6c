// Expected failures are values with a message a user can act on; the CLI
// prints the message (no stack trace) and exits with the error's code.

/** A bad flag or flag value: exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  override name = 'UsageError';
}

/** The job failed (no master, bad input file, I/O error...): exit 1. */
export class JobError extends Error {
  readonly exitCode = 1;
  override name = 'JobError';
}

/** The message of an unknown thrown value, for logs. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Turns a Node fs error into a short reason naming the path ("no such file"). */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'a path component is not a directory';
    case 'ELOOP': return 'too many levels of symbolic links';
    case 'ENOSPC': return 'no space left on device';
    case 'EROFS': return 'read-only file system';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EEXIST': return 'a file of that name already exists';
    default: return messageOf(err);
  }
}
