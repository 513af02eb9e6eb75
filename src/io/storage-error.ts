// Typed errors for storage that cannot be written or read (a full disk, a read-only mount, a
// path through a regular file...). The operating system's reason (EROFS, ENOSPC, EACCES,
// ENOTDIR, ...) is kept as `errno` and spelled out in the message, so that a user sees what is
// wrong with the disk rather than a stack trace: these are external causes, not Weir's bugs.

import { WeirError, isWeirError } from '../errors.ts'

const REASONS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'the path is a directory',
  ENOENT: 'the path does not exist and cannot be created there',
  EEXIST: 'the path exists and is not a directory',
  EIO: 'an input/output error of the device',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links in the path',
  EXDEV: 'the path crosses file systems',
}

/** A storage operation failed for a reason outside Weir. */
export class StorageError extends WeirError {
  /** The operating system's error code (EROFS, ENOSPC, ...), or null when there was none. */
  readonly errno: string | null
  readonly path: string

  constructor(message: string, path: string, errno: string | null, cause?: unknown) {
    super('WEIR_STORAGE_FAILED', message, { cause, domain: 'external', retriable: true })
    this.name = 'StorageError'
    this.errno = errno
    this.path = path
  }
}

/** What an errno code means, in words. */
export function describeErrno(errno: string): string {
  return REASONS[errno] ?? errno
}

/**
 * Wraps a failure of `action` (e.g. 'create directory', 'write') on `path` into a StorageError
 * naming both and the operating system's reason. WeirErrors pass through unchanged.
 */
export function storageFailure(error: unknown, action: string, path: string): WeirError {
  if (isWeirError(error)) return error
  const errno = (error as NodeJS.ErrnoException | null)?.code ?? null
  const reason = errno ? `${describeErrno(errno)} (${errno})` : (error as Error)?.message ?? String(error)
  return new StorageError(`cannot ${action} ${path}: ${reason}`, path, errno, error)
}
