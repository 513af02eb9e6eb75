// S3 checkpoint storage (execution.checkpointing.dir: s3://bucket/prefix). Tasks write their state
// files into a local mirror of the checkpoint directory (the same code path as filesystem
// storage); when every task has acknowledged, finalize() uploads the checkpoint's files and any
// new shared files (incremental LMDB segments) and then `_metadata`, last: S3 has no rename, so
// the presence of `_metadata` is the commit marker (uploaded under another key and copied into
// place, so that no store shows it before it is whole: ObjectStore.putMarkerFile). A restore downloads a checkpoint (and the
// shared files) back into the same local paths, so that handles written with absolute paths
// still resolve. Layout in the bucket, as on the file system:
// <prefix>/<job-id>/chk-<n>/{_metadata,task-...}, <prefix>/<job-id>/shared/.
//
// The uploads run on the JobManager, so this works where the JobManager can read what the
// tasks wrote (the embedded mini cluster); tasks on other hosts would have to upload themselves.

import { readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsCheckpointStorage } from '../fs-checkpoint-storage.ts'
import type { CompletedCheckpointRef } from '../checkpoint-storage.ts'
import type { CheckpointMetadata } from '../../metadata.ts'
import { checkpointDir, METADATA_FILE, parseCheckpointDirName, sharedDir } from '../../protocol/paths.ts'
import { ObjectStore } from './object-store.ts'
import { createS3Client, joinKey, parseS3Url, s3Url, type S3Location, type S3Settings } from './s3-location.ts'
import { UserError } from '../../../errors.ts'

/** Where a bucket location is mirrored locally: the same path in every process, so absolute handles resolve after a restore. */
export function localMirror(url: string): string {
  const location = parseS3Url(url)
  const tag = createHash('sha1').update(`${location.bucket}/${location.prefix}`).digest('hex').slice(0, 12)
  return join(tmpdir(), 'weir-s3-mirror', `${location.bucket}-${tag}`)
}

export class S3CheckpointStorage extends FsCheckpointStorage {
  readonly location: S3Location
  private readonly store: ObjectStore
  /** Shared files already in the bucket. */
  private readonly uploadedShared = new Set<string>()

  constructor(readonly url: string, jobId: string, settings: S3Settings) {
    super(localMirror(url), jobId)
    this.location = parseS3Url(url)
    this.store = new ObjectStore(createS3Client(settings), this.location.bucket)
  }

  private key(...parts: string[]): string {
    return joinKey(this.location.prefix, this.jobId, ...parts)
  }

  override async finalize(metadata: CheckpointMetadata): Promise<CompletedCheckpointRef> {
    const name = `chk-${metadata.checkpointId}`
    const dir = checkpointDir(this.baseDir, this.jobId, metadata.checkpointId)
    const files = existsSync(dir) ? (await readdir(dir)).filter((f) => f !== METADATA_FILE) : []
    await Promise.all(files.map((f) => this.store.putFile(this.key(name, f), join(dir, f))))
    const shared = sharedDir(this.baseDir, this.jobId)
    const fresh = existsSync(shared) ? (await readdir(shared)).filter((f) => !this.uploadedShared.has(f)) : []
    await Promise.all(fresh.map(async (f) => {
      await this.store.putFile(this.key('shared', f), join(shared, f))
      this.uploadedShared.add(f)
    }))
    const ref = await super.finalize(metadata)
    // Last: its presence in the bucket says the checkpoint is complete.
    await this.store.putMarkerFile(this.key(name, METADATA_FILE), join(dir, METADATA_FILE))
    return ref
  }

  override async discard(checkpointId: number): Promise<void> {
    await super.discard(checkpointId)
    // Its _metadata first, as on the file system: a half-deleted checkpoint never looks complete.
    await this.store.deletePrefix(this.key(`chk-${checkpointId}`) + '/', this.key(`chk-${checkpointId}`, METADATA_FILE))
  }

  override async discardAll(): Promise<void> {
    await super.discardAll()
    await this.store.deletePrefix(this.key() + '/')
  }
}

/**
 * Downloads a checkpoint or savepoint (`s3://.../chk-<n>`, `s3://.../savepoint-...` or their
 * `_metadata`, or 'latest' under a checkpoints location), a checkpoint with its job's shared files,
 * into the local mirror; returns the local directory.
 */
export async function downloadCheckpoint(pathOrLatest: string, base: string | null, settings: S3Settings): Promise<{ dir: string; source: string }> {
  let url: string
  const store = (loc: S3Location) => new ObjectStore(createS3Client(settings), loc.bucket)
  if (pathOrLatest === 'latest') {
    if (!base) throw new UserError('WEIR_RESTORE_FAILED', '--from-checkpoint latest needs execution.checkpointing.dir to know where to look')
    const loc = parseS3Url(base)
    const objects = await store(loc).list(loc.prefix ? loc.prefix + '/' : '')
    let newest: { key: string; modified: number; id: number } | null = null
    for (const o of objects) {
      const parts = o.key.split('/')
      if (parts.at(-1) !== METADATA_FILE) continue
      const id = parseCheckpointDirName(parts.at(-2) ?? '')
      if (id === null) continue
      if (!newest || o.modified > newest.modified || (o.modified === newest.modified && id > newest.id)) newest = { key: o.key, modified: o.modified, id }
    }
    if (!newest) throw new UserError('WEIR_RESTORE_FAILED', `no completed checkpoint under ${base}`)
    url = `s3://${loc.bucket}/${newest.key.slice(0, -METADATA_FILE.length - 1)}`
  } else {
    url = pathOrLatest.replace(/\/_metadata$/, '').replace(/\/+$/, '')
  }
  const loc = parseS3Url(url)
  const parts = loc.prefix.split('/')
  const checkpointName = parts.at(-1)!
  const objects = await store(loc).list(loc.prefix + '/')
  if (!objects.some((o) => o.key.endsWith(`/${METADATA_FILE}`))) {
    throw new UserError('WEIR_RESTORE_FAILED', `${url} has no ${METADATA_FILE}: the checkpoint never completed, or this is not a checkpoint`)
  }
  // The mirror of the location two levels up (<base>/<job-id>/chk-<n>), so shared files land where handles expect them.
  const jobPrefix = parts.slice(0, -1).join('/')
  const basePrefix = parts.slice(0, -2).join('/')
  const mirror = localMirror(`s3://${loc.bucket}/${basePrefix}`)
  const local = join(mirror, parts.at(-2) ?? '', checkpointName)
  await rm(local, { recursive: true, force: true })
  const s = store(loc)
  await Promise.all(objects.map((o) => s.getFile(o.key, join(local, o.key.slice(loc.prefix.length + 1)))))
  // A savepoint is self-contained; a checkpoint may reference its job's shared files.
  if (parseCheckpointDirName(checkpointName) !== null) {
    const shared = await s.list(joinKey(jobPrefix, 'shared') + '/')
    await Promise.all(shared.map((o) => s.getFile(o.key, join(mirror, parts.at(-2) ?? '', 'shared', o.key.split('/').at(-1)!))))
  }
  return { dir: local, source: url }
}

export function s3CheckpointUrl(storage: S3CheckpointStorage, checkpointId: number): string {
  return s3Url(storage.location, storage.jobId, `chk-${checkpointId}`)
}

