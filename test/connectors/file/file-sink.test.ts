// The transactional FileSink, driven through the sink operator without a job (test/helpers/
// sink-harness.ts): in-progress -> pending at a checkpoint -> finished when that checkpoint
// completes; restore commits what the restored checkpoint staged and throws away what no
// completed checkpoint covers. The sink contract (test/api/sink.contract.ts) runs first.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import fs, { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileSink, commitMarkerPath } from '../../../src/connectors/file/file-sink.ts'
import { FileKind } from '../../../src/checkpoint/file-format.ts'
import { isWeirError } from '../../../src/errors.ts'
import { SinkSubtask, type SubtaskOptions } from '../../helpers/sink-harness.ts'
import { decodeValue } from '../../../src/runtime/network/batch-codec.ts'
import { sinkContract } from '../../api/sink.contract.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-file-sink-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

let dirNo = 0
function freshDir(): string {
  const dir = join(root, `out-${dirNo++}`)
  mkdirSync(dir)
  return dir
}

/** The directory's names, sorted, without the sink's commit markers (tested on their own below). */
function names(dir: string): string[] {
  return readdirSync(dir).filter((n) => !/^\.weir-committed-\d+$/.test(n)).sort()
}

function finished(dir: string): string[] {
  return names(dir).filter((n) => n.startsWith('part-'))
}

function read(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8')
}

sinkContract<string>({
  name: 'FileSink',
  guarantee: 'exactly-once',
  reportsCommitted: true,
  record: (i) => String(i),
  async fresh() {
    const dir = freshDir()
    return {
      sink: () => new FileSink<string>(dir, { format: (s) => s }),
      committed: async () => finished(dir).flatMap((f) => read(dir, f).split('\n').filter((l) => l !== '').map(Number)),
    }
  },
})

function subtask(dir: string, options: SubtaskOptions = {}, maxPartBytes?: number): SinkSubtask<string> {
  return new SinkSubtask<string>(new FileSink<string>(dir, { format: (s) => s, maxPartBytes }), options)
}

test('written lines go to a hidden in-progress file and nothing is finished before a checkpoint', () => {
  const dir = freshDir()
  const s = subtask(dir)
  s.write('a', 'b')
  assert.deepEqual(names(dir), ['.part-0-0.inprogress'])
  assert.equal(read(dir, '.part-0-0.inprogress'), 'a\nb\n')
})

test('a checkpoint turns the in-progress file into a hidden pending file, named in the stored state', async () => {
  const dir = freshDir()
  const s = subtask(dir)
  s.operator.processElement('a')
  s.operator.processElement('b') // not flushed yet: the pre-commit must write it out
  const state = await s.checkpoint(1)
  assert.deepEqual(names(dir), ['.part-0-0.pending'])
  assert.equal(read(dir, '.part-0-0.pending'), 'a\nb\n')
  assert.match(JSON.stringify(decodeValue(state)), /\.part-0-0\.pending/)
})

test('a checkpoint with nothing written stages no file', async () => {
  const dir = freshDir()
  const s = subtask(dir)
  await s.checkpoint(1)
  await s.complete(1)
  assert.deepEqual(names(dir), [])
})

test('completing checkpoint n commits the pending files of checkpoints up to n and not those of later ones', async () => {
  const dir = freshDir()
  const s = subtask(dir)
  s.write('one')
  await s.checkpoint(1)
  s.write('two')
  await s.checkpoint(2)
  s.write('three')
  await s.checkpoint(3)
  s.write('four')
  await s.complete(2)
  assert.deepEqual(finished(dir), ['part-0-0', 'part-0-1'])
  assert.equal(read(dir, 'part-0-0'), 'one\n')
  assert.equal(read(dir, 'part-0-1'), 'two\n')
  assert.ok(names(dir).includes('.part-0-2.pending'), 'checkpoint 3 has not completed: its file stays pending')
  assert.ok(names(dir).includes('.part-0-3.inprogress'))
  await s.complete(3)
  assert.deepEqual(finished(dir), ['part-0-0', 'part-0-1', 'part-0-2'])
  assert.equal(read(dir, 'part-0-2'), 'three\n')
})

test('a restore commits the restored pending files and deletes the in-progress and pending files no completed checkpoint covers', async () => {
  const dir = freshDir()
  const s1 = subtask(dir)
  s1.write('covered')
  const state = await s1.checkpoint(1)
  s1.write('after checkpoint 1')
  await s1.checkpoint(2) // never completes
  s1.write('in progress')
  s1.crash()
  assert.deepEqual(names(dir), ['.part-0-0.pending', '.part-0-1.pending', '.part-0-2.inprogress'])
  const s2 = subtask(dir, { attemptNumber: 1, restored: [state] })
  await s2.whenCommitted()
  assert.deepEqual(names(dir), ['part-0-0'])
  assert.equal(read(dir, 'part-0-0'), 'covered\n')
})

test('a restored writer deletes only its own subtask\'s uncommitted files', () => {
  const dir = freshDir()
  writeFileSync(join(dir, '.part-1-0.inprogress'), 'subtask 1 is still writing\n')
  writeFileSync(join(dir, '.part-1-1.pending'), 'subtask 1 staged this\n')
  writeFileSync(join(dir, '.part-0-4.inprogress'), 'left over by subtask 0\n')
  subtask(dir, { subtaskIndex: 0, parallelism: 2 })
  assert.deepEqual(names(dir), ['.part-1-0.inprogress', '.part-1-1.pending'])
})

test('part numbers never reuse the name of an existing finished file', async () => {
  const dir = freshDir()
  writeFileSync(join(dir, 'part-0-0'), 'old 0\n')
  writeFileSync(join(dir, 'part-0-5'), 'old 5\n')
  writeFileSync(join(dir, 'part-1-9'), 'other subtask\n')
  const s = subtask(dir, { checkpointing: false })
  s.write('new')
  await s.finish()
  assert.deepEqual(finished(dir), ['part-0-0', 'part-0-5', 'part-0-6', 'part-1-9'])
  assert.equal(read(dir, 'part-0-6'), 'new\n')
})

test('a restored state whose counter is behind the directory does not reuse a finished file\'s name', async () => {
  const dir = freshDir()
  const s1 = subtask(dir)
  s1.write('a')
  const state = await s1.checkpoint(1)
  await s1.complete(1)
  s1.write('b')
  await s1.checkpoint(2)
  await s1.complete(2) // part-0-1 is finished, but the restored state predates it
  const s2 = subtask(dir, { attemptNumber: 1, restored: [state] })
  s2.write('c')
  await s2.checkpoint(3)
  await s2.complete(3)
  assert.deepEqual(finished(dir), ['part-0-0', 'part-0-1', 'part-0-2'])
  assert.equal(read(dir, 'part-0-1'), 'b\n')
  assert.equal(read(dir, 'part-0-2'), 'c\n')
})

test('a part file beyond maxPartBytes rolls over, and every rolled part commits with the next checkpoint', async () => {
  const dir = freshDir()
  const s = subtask(dir, {}, 8)
  for (const l of ['0123456789', 'abcdefghij', 'z']) s.write(l)
  assert.deepEqual(finished(dir), [])
  await s.checkpoint(1)
  await s.complete(1)
  const files = finished(dir)
  assert.equal(files.length, 3)
  assert.equal(files.map((f) => read(dir, f)).join(''), '0123456789\nabcdefghij\nz\n')
  assert.deepEqual(names(dir), files, 'no hidden file is left')
})

test('a pending file of a completed checkpoint that vanished fails the subtask with WEIR_SINK_FAILED naming the file', async () => {
  const dir = freshDir()
  const s1 = subtask(dir)
  s1.write('a')
  await s1.checkpoint(1)
  unlinkSync(join(dir, '.part-0-0.pending'))
  await assert.rejects(s1.complete(1), (e: unknown) => {
    assert.ok(isWeirError(e), `expected a WeirError, got ${String(e)}`)
    assert.equal(e.code, 'WEIR_SINK_FAILED')
    assert.match(e.message, /\.part-0-0\.pending/)
    return true
  })
  assert.equal(s1.failures.length, 1, 'the failure reached the task')
})

test('committing a checkpoint fsyncs the directory, so that the renames survive a crash of the machine', async (t) => {
  const dir = freshDir()
  const s = subtask(dir)
  s.write('a')
  await s.checkpoint(1)
  const original = fs.fsyncSync
  let calls = 0
  fs.fsyncSync = (fd: number) => {
    calls++
    return original(fd)
  }
  syncBuiltinESMExports()
  t.after(() => {
    fs.fsyncSync = original
    syncBuiltinESMExports()
  })
  await s.complete(1)
  assert.deepEqual(finished(dir), ['part-0-0'])
  assert.ok(calls >= 1, 'no fsync after the pending file was renamed to its final name')
})

test('each commit records the committed checkpoint and the run in a framed .weir-committed-<subtask> marker, written after the renames', async () => {
  const dir = freshDir()
  const s = subtask(dir, { subtaskIndex: 1, parallelism: 2, jobId: 'marker-job' })
  s.write('a')
  await s.checkpoint(1)
  assert.equal(existsSync(commitMarkerPath(dir, 1)), false, 'nothing committed, nothing recorded')
  await s.complete(1)
  const sink = new FileSink<string>(dir)
  assert.deepEqual(sink.committedCheckpoints({ jobName: 'SinkTest', operatorUid: 'sink', run: 'marker-job' }), [{ subtaskIndex: 1, checkpointId: 1 }])
  await s.checkpoint(2) // nothing written since: nothing to commit, the marker stays at 1
  await s.complete(2)
  s.write('b')
  await s.checkpoint(3)
  await s.complete(3)
  assert.deepEqual(sink.committedCheckpoints({ jobName: 'SinkTest', operatorUid: 'sink', run: 'marker-job' }), [{ subtaskIndex: 1, checkpointId: 3 }])
  assert.deepEqual(sink.committedCheckpoints({ jobName: 'SinkTest', operatorUid: 'sink', run: 'another-run' }), [], 'another run\'s markers do not count')
  // Versioned and checksummed like checkpoint files.
  const bytes = readFileSync(commitMarkerPath(dir, 1))
  assert.equal(bytes.readUInt32BE(0), 0x57454952)
  assert.equal(bytes.readUInt16BE(6), FileKind.SINK_COMMIT_MARKER)
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temporary file is left')
  await s.finish()
})

test('a damaged commit marker refuses the restore, naming the file and how to go on without it', async () => {
  const dir = freshDir()
  const s1 = subtask(dir, { jobId: 'damaged-marker' })
  s1.write('a')
  const c1 = await s1.checkpoint(1)
  await s1.complete(1)
  s1.crash()
  const marker = commitMarkerPath(dir, 0)
  const bytes = readFileSync(marker)
  bytes[bytes.length - 2] ^= 0x20
  writeFileSync(marker, bytes)
  assert.throws(() => subtask(dir, { attemptNumber: 1, restored: [c1], restoredFrom: 1 }), (e) => {
    assert.ok(isWeirError(e))
    assert.equal(e.code, 'WEIR_SINK_FAILED')
    assert.ok(e.message.includes(marker), e.message)
    assert.match(e.message, /checksum mismatch/)
    assert.match(e.message, /delete .* to restore without that guard/)
    return true
  })
  assert.deepEqual(finished(dir), ['part-0-0'], 'nothing else committed')
})

test('after rescaling from 2 to 1 the new subtask commits under its own index; the old subtask 1 marker stays behind and never blocks a newer restore', async () => {
  const dir = freshDir()
  const a = subtask(dir, { subtaskIndex: 0, parallelism: 2, jobId: 'rescale-job' })
  const b = subtask(dir, { subtaskIndex: 1, parallelism: 2, jobId: 'rescale-job' })
  a.write('a')
  b.write('b')
  const ca = await a.checkpoint(1)
  const cb = await b.checkpoint(1)
  await a.complete(1)
  await b.complete(1)
  a.crash()
  b.crash()
  const one = subtask(dir, { subtaskIndex: 0, parallelism: 1, attemptNumber: 1, restored: [ca, cb], restoredFrom: 1 })
  one.write('c')
  const c2 = await one.checkpoint(2)
  await one.complete(2)
  one.crash()
  const sink = new FileSink<string>(dir)
  assert.deepEqual(sink.committedCheckpoints({ jobName: 'SinkTest', operatorUid: 'sink', run: 'rescale-job' }).sort((x, y) => x.subtaskIndex - y.subtaskIndex), [{ subtaskIndex: 0, checkpointId: 2 }, { subtaskIndex: 1, checkpointId: 1 }])
  const again = subtask(dir, { subtaskIndex: 0, parallelism: 1, attemptNumber: 2, restored: [c2], restoredFrom: 2 })
  await again.finish()
  assert.deepEqual(finished(dir).flatMap((f) => read(dir, f).split('\n').filter((l) => l)).sort(), ['a', 'b', 'c'])
})
