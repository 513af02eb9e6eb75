import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { findLatestCheckpoint, listCheckpoints, readMetadata, resolveCheckpointDir, writeMetadata, type CheckpointMetadata } from '../../src/checkpoint/metadata.ts'
import { checkpointDir, metadataPath } from '../../src/checkpoint/protocol/paths.ts'
import { isWeirError } from '../../src/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-metadata-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

function metadata(checkpointId: number, completedAt: number, jobId = 'job-a'): CheckpointMetadata {
  return {
    version: 1, kind: 'checkpoint', jobId, jobName: 'test job', checkpointId, triggeredAt: completedAt - 5, completedAt,
    vertices: [{
      vertex: 0, uids: ['src', 'map'], name: 'Source -> Map', parallelism: 2, maxParallelism: 128,
      subtasks: [
        { subtask: 0, handle: { type: 'file', path: 'task-0-0-0.state', size: 42 }, stateSize: 30 },
        { subtask: 1, handle: { type: 'inline', bytes: new Uint8Array([1, 2, 3]) }, stateSize: 3 },
      ],
    }],
    coordinators: { src: { splits: [{ id: 's1', offset: 7 }] } },
  }
}

test('metadata written to a checkpoint directory reads back equal', async () => {
  const dir = join(root, 'round-trip', 'chk-1')
  const m = metadata(1, 1000)
  const size = await writeMetadata(dir, m)
  assert.equal(readFileSync(metadataPath(dir)).length, size)
  const back = await readMetadata(metadataPath(dir))
  assert.deepEqual({ ...back, vertices: undefined }, { ...m, vertices: undefined })
  assert.equal(back.vertices[0]!.subtasks[0]!.handle?.type, 'file')
  const inline = back.vertices[0]!.subtasks[1]!.handle
  assert.ok(inline?.type === 'inline')
  assert.deepEqual([...inline.bytes], [1, 2, 3])
  assert.deepEqual(back.vertices[0]!.uids, ['src', 'map'])
})

test('metadata whose payload is not a valid encoding is reported damaged, naming the file', async () => {
  const dir = join(root, 'garbage', 'chk-1')
  await writeMetadata(dir, metadata(1, 1))
  // Re-frame a payload that is not msgpack-decodable into a valid frame.
  const { frame, FileKind } = await import('../../src/checkpoint/file-format.ts')
  writeFileSync(metadataPath(dir), frame(FileKind.METADATA, new Uint8Array([0xc1])))
  await assert.rejects(readMetadata(metadataPath(dir)), (e: unknown) => isWeirError(e) && e.code === 'WEIR_CHECKPOINT_CORRUPT' && e.message.includes(metadataPath(dir)))
})

async function checkpointsTree(): Promise<{ base: string; completed: string; older: string; incomplete: string; damaged: string }> {
  const base = join(root, 'tree')
  const older = checkpointDir(base, 'job-a', 3)
  const completed = checkpointDir(base, 'job-a', 4)
  const incomplete = checkpointDir(base, 'job-a', 5)
  const damaged = checkpointDir(base, 'job-b', 9)
  await writeMetadata(older, metadata(3, 1000))
  await writeMetadata(completed, metadata(4, 2000))
  mkdirSync(incomplete, { recursive: true })
  writeFileSync(join(incomplete, 'task-0-0-0.state'), 'partial')
  await writeMetadata(damaged, metadata(9, 3000, 'job-b'))
  const bytes = readFileSync(metadataPath(damaged))
  writeFileSync(metadataPath(damaged), bytes.subarray(0, bytes.length - 1))
  // Things listCheckpoints must skip.
  mkdirSync(join(base, 'job-a', 'shared'), { recursive: true })
  writeFileSync(join(base, 'stray-file'), 'x')
  return { base, completed, older, incomplete, damaged }
}

test('listCheckpoints reports completed, incomplete and damaged checkpoints, and the problem names the file', async () => {
  const t = await checkpointsTree()
  const list = await listCheckpoints(t.base)
  const byDir = new Map(list.map((c) => [c.dir, c]))
  assert.equal(list.length, 4)
  assert.deepEqual(byDir.get(t.completed), { dir: t.completed, jobId: 'job-a', id: 4, completedAt: 2000, durationMs: 5, size: byDir.get(t.completed)!.size, status: 'COMPLETED' })
  assert.ok(byDir.get(t.completed)!.size > 0)
  assert.equal(byDir.get(t.older)?.status, 'COMPLETED')
  const incomplete = byDir.get(t.incomplete)!
  assert.equal(incomplete.status, 'INCOMPLETE')
  assert.equal(incomplete.completedAt, null)
  assert.equal(incomplete.durationMs, null)
  assert.equal(incomplete.size, 'partial'.length)
  const damaged = byDir.get(t.damaged)!
  assert.equal(damaged.status, 'DAMAGED')
  assert.equal(damaged.jobId, 'job-b')
  assert.equal(damaged.id, 9)
  assert.ok(damaged.problem?.includes(metadataPath(t.damaged)), `problem does not name the file: ${damaged.problem}`)
  assert.match(damaged.problem!, /damaged/)
})

test('findLatestCheckpoint picks the newest completed checkpoint, ignoring incomplete ones and older damaged ones', async () => {
  const t = await checkpointsTree()
  // Make the damaged checkpoint the oldest one written.
  utimesSync(metadataPath(t.damaged), new Date(1000), new Date(1000))
  utimesSync(metadataPath(t.older), new Date(2000), new Date(2000))
  utimesSync(metadataPath(t.completed), new Date(3000), new Date(3000))
  assert.equal(await findLatestCheckpoint(t.base), t.completed)
})

test('findLatestCheckpoint refuses a damaged newest checkpoint instead of falling back to an older one', async () => {
  const t = await checkpointsTree()
  utimesSync(metadataPath(t.older), new Date(1000), new Date(1000))
  utimesSync(metadataPath(t.completed), new Date(2000), new Date(2000))
  utimesSync(metadataPath(t.damaged), new Date(3000), new Date(3000))
  await assert.rejects(findLatestCheckpoint(t.base), (e: unknown) => isWeirError(e) && e.code === 'WEIR_CHECKPOINT_CORRUPT' && e.message.includes(metadataPath(t.damaged)))
})

test('findLatestCheckpoint without any completed checkpoint says so, naming the directory', async () => {
  const base = join(root, 'none')
  mkdirSync(join(base, 'job', 'chk-1'), { recursive: true })
  await assert.rejects(findLatestCheckpoint(base), (e: unknown) => isWeirError(e) && e.code === 'WEIR_RESTORE_FAILED' && e.message.includes(`no completed checkpoint under ${base}`))
})

test('listCheckpoints of a directory that does not exist fails naming it', async () => {
  const base = join(root, 'does-not-exist')
  await assert.rejects(listCheckpoints(base), (e: unknown) => isWeirError(e) && e.code === 'WEIR_RESTORE_FAILED' && e.message.includes(base) && e.message.includes('ENOENT'))
})

test('resolveCheckpointDir accepts a checkpoint directory or its _metadata file', async () => {
  const t = await checkpointsTree()
  assert.equal(resolveCheckpointDir(t.completed), t.completed)
  assert.equal(resolveCheckpointDir(metadataPath(t.completed)), t.completed)
  assert.equal(resolveCheckpointDir(relative(process.cwd(), t.completed)), t.completed)
})

test('resolveCheckpointDir refuses a directory without _metadata with a helpful message', async () => {
  const t = await checkpointsTree()
  assert.throws(() => resolveCheckpointDir(t.incomplete), (e: unknown) => isWeirError(e) && e.code === 'WEIR_RESTORE_FAILED' && e.message.includes(t.incomplete) && /no _metadata: the checkpoint never completed/.test(e.message))
})

test('resolveCheckpointDir refuses a path that does not exist and a file that is not _metadata', async () => {
  const t = await checkpointsTree()
  const missing = join(root, 'missing-chk')
  assert.throws(() => resolveCheckpointDir(missing), (e: unknown) => isWeirError(e) && e.message === `no checkpoint or savepoint at ${missing}`)
  const stray = join(t.incomplete, 'task-0-0-0.state')
  assert.throws(() => resolveCheckpointDir(stray), (e: unknown) => isWeirError(e) && e.message.includes('neither a checkpoint directory nor a _metadata file'))
})

test('findLatestCheckpoint warns when it skips a newer chk-* that holds task state but no _metadata', async () => {
  const base = join(root, 'lost-metadata')
  const job = join(base, 'job')
  await writeMetadata(join(job, 'chk-3'), metadata(3, 1000, 'job'))
  await writeMetadata(join(job, 'chk-5'), metadata(5, 2000, 'job'))
  writeFileSync(join(job, 'chk-5', 'task-1-0-0.state'), 'state')
  rmSync(metadataPath(join(job, 'chk-5')))
  // An empty newer directory (a checkpoint that had just started) is no reason to warn.
  mkdirSync(join(job, 'chk-6'), { recursive: true })
  const warnings: string[] = []
  assert.equal(await findLatestCheckpoint(base, (w) => warnings.push(w)), join(job, 'chk-3'))
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0]!, new RegExp(`^Warning: skipping ${join(job, 'chk-5')}: it holds task state \\(1 file\\(s\\)\\) but no _metadata.*resuming from the older ${join(job, 'chk-3')}`))
})

test('findLatestCheckpoint also warns about a chk-* without _metadata in a later job\'s directory (a resumed job writes under its own id), not about older ones', async () => {
  const base = join(root, 'lost-metadata-resumed')
  const first = join(base, 'job-first')
  const resumed = join(base, 'job-resumed')
  const older = join(base, 'job-older')
  // An older job's leftover (its state written before the chosen checkpoint): no reason to warn.
  mkdirSync(join(older, 'chk-2'), { recursive: true })
  writeFileSync(join(older, 'chk-2', 'task-1-0-0.state'), 'state')
  const past = new Date(Date.now() - 60_000)
  utimesSync(join(older, 'chk-2', 'task-1-0-0.state'), past, past)
  await writeMetadata(join(first, 'chk-18'), metadata(18, 1000, 'job-first'))
  utimesSync(metadataPath(join(first, 'chk-18')), new Date(Date.now() - 30_000), new Date(Date.now() - 30_000))
  // The resumed job's checkpoints (ids go on from 18), their _metadata lost.
  mkdirSync(join(resumed, 'chk-52'), { recursive: true })
  writeFileSync(join(resumed, 'chk-52', 'task-1-0-0.state'), 'state')
  const warnings: string[] = []
  assert.equal(await findLatestCheckpoint(base, (w) => warnings.push(w)), join(first, 'chk-18'))
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0]!, new RegExp(`^Warning: skipping ${join(resumed, 'chk-52')}: .*resuming from the older ${join(first, 'chk-18')}`))
  // Several skipped directories: one warning naming them all.
  mkdirSync(join(resumed, 'chk-53'), { recursive: true })
  writeFileSync(join(resumed, 'chk-53', 'task-1-0-0.state'), 'state')
  warnings.length = 0
  await findLatestCheckpoint(base, (w) => warnings.push(w))
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0]!, /^Warning: skipping 2 newer checkpoint directories that hold task state but no _metadata \(.*chk-5[23], .*chk-5[23]\)/)
})
