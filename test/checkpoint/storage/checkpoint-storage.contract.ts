// The contract of checkpoint storage (src/checkpoint/storage/checkpoint-storage.ts), run against
// every implementation that keeps checkpoints outside the JobManager: task state written at a
// checkpoint's location is not a completed checkpoint until finalize() wrote `_metadata`, last;
// a completed checkpoint reads back intact (through `open`, which for remote storage downloads
// it); discard removes one checkpoint and nothing else; discardAll removes the job's.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CheckpointStorage } from '../../../src/checkpoint/storage/checkpoint-storage.ts'
import { writeTaskState } from '../../../src/checkpoint/storage/task-state-writer.ts'
import { readMetadata, type CheckpointMetadata } from '../../../src/checkpoint/metadata.ts'
import { metadataPath } from '../../../src/checkpoint/protocol/paths.ts'

export interface StorageUnderTest {
  readonly name: string
  /** A fresh storage for a new job id. */
  create(jobId: string): Promise<CheckpointStorage>
  /** The completed checkpoint `id` of `jobId`, made readable locally (downloaded for remote storage); null if it is not complete. */
  open(jobId: string, id: number): Promise<string | null>
  /** Names of what the storage holds for the job (relative keys or paths), sorted. */
  stored(jobId: string): Promise<string[]>
}

function metadata(jobId: string, checkpointId: number, size: number): CheckpointMetadata {
  return {
    version: 1, kind: 'checkpoint', jobId, jobName: 'contract', checkpointId, triggeredAt: 1, completedAt: 2,
    vertices: [{ vertex: 0, uids: ['op'], name: 'Op', parallelism: 1, maxParallelism: 128, subtasks: [{ subtask: 0, handle: { type: 'file', path: 'task-0-0-0.state', size }, stateSize: size }] }],
    coordinators: {},
  }
}

let jobNo = 0
export function checkpointStorageContract(impl: StorageUnderTest): void {
  const name = impl.name
  async function writeCheckpoint(storage: CheckpointStorage, jobId: string, id: number, payload: Uint8Array): Promise<void> {
    const handle = await writeTaskState(storage.locationFor(id), 0, 0, 0, payload)
    assert.equal(handle.type, 'file')
    assert.equal(await impl.open(jobId, id), null, `${name}: checkpoint ${id} is not complete before finalize()`)
    await storage.finalize(metadata(jobId, id, (handle as { size: number }).size))
  }

  test(`${name}: a finalized checkpoint reads back intact, metadata and task state`, async () => {
    const jobId = `contract-${process.pid}-${jobNo++}`
    const storage = await impl.create(jobId)
    const payload = new Uint8Array(1000).map((_, i) => i % 251)
    await writeCheckpoint(storage, jobId, 1, payload)
    const dir = await impl.open(jobId, 1)
    assert.ok(dir !== null, `${name}: checkpoint 1 is complete`)
    const m = await readMetadata(metadataPath(dir))
    assert.equal(m.checkpointId, 1)
    const file = readFileSync(join(dir, 'task-0-0-0.state'))
    assert.equal(file.length, m.vertices[0]!.subtasks[0]!.stateSize)
    assert.ok(file.subarray(file.length - payload.length).equals(Buffer.from(payload)) || file.includes(Buffer.from(payload)), `${name}: the task state's bytes are intact`)
  })

  test(`${name}: a large task state file (above the multipart threshold) reads back intact`, async () => {
    const jobId = `contract-${process.pid}-${jobNo++}`
    const storage = await impl.create(jobId)
    const payload = new Uint8Array(20 * 1024 * 1024).map((_, i) => (i * 7) % 256)
    await writeCheckpoint(storage, jobId, 1, payload)
    const dir = await impl.open(jobId, 1)
    assert.ok(dir !== null)
    assert.ok(readFileSync(join(dir, 'task-0-0-0.state')).includes(Buffer.from(payload.subarray(payload.length - 4096))))
  })

  test(`${name}: discard removes one checkpoint and leaves the others; discardAll removes the job's`, async () => {
    const jobId = `contract-${process.pid}-${jobNo++}`
    const storage = await impl.create(jobId)
    for (const id of [1, 2, 3]) await writeCheckpoint(storage, jobId, id, new Uint8Array([id]))
    await storage.discard(2)
    assert.equal(await impl.open(jobId, 2), null, `${name}: checkpoint 2 is gone`)
    assert.ok((await impl.open(jobId, 1)) !== null && (await impl.open(jobId, 3)) !== null, `${name}: 1 and 3 remain`)
    assert.ok(!(await impl.stored(jobId)).some((k) => k.includes('chk-2/')), `${name}: nothing of checkpoint 2 is left`)
    await storage.discardAll!()
    assert.deepEqual((await impl.stored(jobId)).filter((k) => !k.endsWith('/')), [], `${name}: nothing of the job is left`)
  })
}
