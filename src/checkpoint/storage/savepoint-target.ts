// Where one savepoint goes: a directory on the file system, or an s3://bucket/prefix location.
// Tasks always write a savepoint's files into a local directory (`localDir`); committing it
// makes it a savepoint at `path`. On the file system that is the directory itself (its
// `_metadata` was written atomically, last). In S3 the files are uploaded from a local staging
// directory, `_metadata` last (S3 has no rename: its presence marks the savepoint complete), and
// the staging directory is removed: the savepoint is self-contained in the bucket.

import { readdir, rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { METADATA_FILE } from '../protocol/paths.ts'
import { ObjectStore } from './s3/object-store.ts'
import { createS3Client, isS3Url, joinKey, parseS3Url, s3Url, type S3Settings } from './s3/s3-location.ts'
import { localMirror } from './s3/s3-checkpoint-storage.ts'

export interface SavepointTarget {
  /** Where the tasks write the savepoint's files and the coordinator its `_metadata`. */
  readonly localDir: string
  /** The savepoint as a user names it (for -s): a directory, or an s3:// URL. */
  readonly path: string
  /** After `_metadata` was written into localDir: make the savepoint complete at `path`. */
  commit(): Promise<void>
  /** The savepoint failed: remove whatever of it was written. */
  discard(): Promise<void>
}

/** A savepoint named `name` under `targetDir`; `s3` settings are needed for an s3:// target. */
export function savepointTarget(targetDir: string, name: string, s3: () => S3Settings): SavepointTarget {
  if (!isS3Url(targetDir)) {
    const dir = join(resolve(targetDir), name)
    return { localDir: dir, path: dir, commit: async () => {}, discard: () => rm(dir, { recursive: true, force: true }) }
  }
  const location = parseS3Url(targetDir)
  const localDir = join(localMirror(targetDir), 'staging', name)
  const prefix = joinKey(location.prefix, name)
  let store: ObjectStore | null = null
  const bucket = (): ObjectStore => (store ??= new ObjectStore(createS3Client(s3()), location.bucket))
  return {
    localDir,
    path: s3Url(location, name),
    async commit() {
      const entries = await readdir(localDir, { recursive: true, withFileTypes: true })
      const files = entries.filter((e) => e.isFile()).map((e) => relative(localDir, join(e.parentPath ?? e.path, e.name))).filter((f) => f !== METADATA_FILE)
      // Every upload settles before a failure is reported, so that a discard after it finds all there is to delete.
      const uploads = await Promise.allSettled(files.map((f) => bucket().putFile(joinKey(prefix, ...f.split('/')), join(localDir, f))))
      for (const u of uploads) if (u.status === 'rejected') throw u.reason
      // Last: its presence in the bucket says the savepoint is complete.
      await bucket().putMarkerFile(joinKey(prefix, METADATA_FILE), join(localDir, METADATA_FILE))
      await rm(localDir, { recursive: true, force: true })
    },
    async discard() {
      await rm(localDir, { recursive: true, force: true })
      await bucket().deletePrefix(prefix + '/')
    },
  }
}
