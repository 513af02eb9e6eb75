// The retained completed checkpoints: dropping one deletes its files and the shared files no
// other retained checkpoint references; settling waits for the deletions and, when the job's
// retention says so, deletes the rest.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RetainedCheckpoints } from '../../src/checkpoint/retained-checkpoints.ts'
import type { CheckpointStorage, CompletedCheckpointRef } from '../../src/checkpoint/storage/checkpoint-storage.ts'
import type { CheckpointMetadata } from '../../src/checkpoint/metadata.ts'

function fakeStorage(): CheckpointStorage & { discarded: number[]; discardedAll: boolean } {
  const storage = {
    type: 'filesystem' as const,
    discarded: [] as number[],
    discardedAll: false,
    locationFor: () => { throw new Error('not used') },
    finalize: () => { throw new Error('not used') },
    discard: async (id: number) => { storage.discarded.push(id) },
    discardAll: async () => { storage.discardedAll = true },
  }
  return storage
}

const ref = (id: number): CompletedCheckpointRef => ({ id, dir: null, metadata: { checkpointId: id } as CheckpointMetadata })

test('a dropped checkpoint deletes its own shared files, and those still referenced stay until their last checkpoint goes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-retained-'))
  try {
    const [shared, onlyFirst, onlySecond] = ['shared.sst', 'first.sst', 'second.sst'].map((f) => join(dir, f))
    for (const f of [shared!, onlyFirst!, onlySecond!]) writeFileSync(f, 'x')
    const storage = fakeStorage()
    const retained = new RetainedCheckpoints(storage)
    retained.add(ref(1), [shared!, onlyFirst!])
    retained.add(ref(2), [shared!, onlySecond!])
    assert.deepEqual(retained.ids(), [1, 2])
    assert.equal(retained.latest?.id, 2)

    retained.drop(1)
    await retained.settle(false)
    assert.deepEqual(retained.ids(), [2])
    assert.deepEqual(storage.discarded, [1])
    assert.equal(existsSync(onlyFirst!), false, "the dropped checkpoint's own file is deleted")
    assert.equal(existsSync(shared!), true, 'a file checkpoint 2 references stays')

    retained.drop(2)
    await retained.settle(false)
    assert.equal(retained.latest, null)
    assert.equal(existsSync(shared!), false, 'the last reference is gone, so is the file')
    assert.equal(existsSync(onlySecond!), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an aborted checkpoint's shared files are deleted unless a retained checkpoint references them", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-retained-'))
  try {
    const [shared, fresh] = ['shared.sst', 'fresh.sst'].map((f) => join(dir, f))
    for (const f of [shared!, fresh!]) writeFileSync(f, 'x')
    const retained = new RetainedCheckpoints(fakeStorage())
    retained.add(ref(1), [shared!])
    retained.release([shared!, fresh!])
    await retained.settle(false)
    assert.equal(existsSync(shared!), true)
    assert.equal(existsSync(fresh!), false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('settling with discardAll deletes every retained checkpoint and what the job stored; without, it keeps them', async () => {
  const kept = fakeStorage()
  const keeping = new RetainedCheckpoints(kept)
  keeping.add(ref(3), [])
  await keeping.settle(false)
  assert.deepEqual(kept.discarded, [])
  assert.equal(kept.discardedAll, false)
  assert.deepEqual(keeping.ids(), [3])

  const deleted = fakeStorage()
  const deleting = new RetainedCheckpoints(deleted)
  deleting.add(ref(3), [])
  deleting.add(ref(4), [])
  await deleting.settle(true)
  assert.deepEqual(deleted.discarded, [3, 4])
  assert.equal(deleted.discardedAll, true)
  assert.deepEqual(deleting.ids(), [])
})

test('settling waits for a deletion still under way', async () => {
  const storage = fakeStorage()
  let finish!: () => void
  storage.discard = () => new Promise<void>((resolve) => (finish = resolve))
  const retained = new RetainedCheckpoints(storage)
  retained.add(ref(1), [])
  retained.drop(1)
  let settled = false
  const settling = retained.settle(false).then(() => (settled = true))
  await new Promise((r) => setImmediate(r))
  assert.equal(settled, false, 'the deletion has not finished')
  finish()
  await settling
  assert.equal(settled, true)
})
