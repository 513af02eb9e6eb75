// Runs the checkpoint storage contract against filesystem storage and S3 storage (an s3rver
// started on loopback for this file).

import { before, after } from 'node:test'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { checkpointStorageContract } from './checkpoint-storage.contract.ts'
import { FsCheckpointStorage } from '../../../src/checkpoint/storage/fs-checkpoint-storage.ts'
import { S3CheckpointStorage, downloadCheckpoint } from '../../../src/checkpoint/storage/s3/s3-checkpoint-storage.ts'
import { ObjectStore } from '../../../src/checkpoint/storage/s3/object-store.ts'
import { createS3Client, type S3Settings } from '../../../src/checkpoint/storage/s3/s3-location.ts'
import { startS3, type S3Server } from '../../helpers/services.ts'
import { checkpointDir, jobDir, metadataPath } from '../../../src/checkpoint/protocol/paths.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-storage-contract-'))
let s3: S3Server
let settings: S3Settings
before(async () => {
  s3 = await startS3()
  await s3.createBucket('weir-contract')
  settings = { endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, pathStyle: true, region: 'us-east-1' }
})
after(async () => {
  await s3?.stop()
  rmSync(root, { recursive: true, force: true })
})

function walk(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)).map((p) => `${e.name}/${p}`) : [e.name]))
}

checkpointStorageContract({
  name: 'FsCheckpointStorage',
  async create(jobId) {
    const s = new FsCheckpointStorage(root, jobId)
    await s.initialize()
    return s
  },
  async open(jobId, id) {
    const dir = checkpointDir(root, jobId, id)
    return existsSync(metadataPath(dir)) ? dir : null
  },
  async stored(jobId) {
    return walk(jobDir(root, jobId)).map((p) => relative('', p)).sort()
  },
})

const base = 's3://weir-contract/checkpoints'
checkpointStorageContract({
  name: 'S3CheckpointStorage',
  async create(jobId) {
    const s = new S3CheckpointStorage(base, jobId, settings)
    await s.initialize()
    return s
  },
  async open(jobId, id) {
    try {
      return (await downloadCheckpoint(`${base}/${jobId}/chk-${id}`, base, settings)).dir
    } catch {
      return null
    }
  },
  async stored(jobId) {
    const store = new ObjectStore(createS3Client(settings), 'weir-contract')
    return (await store.list(`checkpoints/${jobId}/`)).map((o) => o.key.slice(`checkpoints/${jobId}/`.length)).sort()
  },
})
