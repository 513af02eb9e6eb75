// The pure decision whether a two-phase sink may be restored from a checkpoint, given what it
// reports it committed, and the words of a refusal.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeRestore, restoreRefusal, forcedRestoreWarning } from '../../src/operators/restore-guard.ts'
import type { TaskLocation } from '../../src/errors.ts'

const at: TaskLocation = { jobName: 'Orders', operatorName: 'File Sink', uid: 'out', subtaskIndex: 1, parallelism: 3, attempt: 0 }

test('a restore from a checkpoint no subtask committed beyond goes on', () => {
  assert.deepEqual(judgeRestore(7, []), { ok: true })
  assert.deepEqual(judgeRestore(7, [{ subtaskIndex: 0, checkpointId: 7 }, { subtaskIndex: 1, checkpointId: 5 }]), { ok: true })
})

test('a restore older than what any subtask committed is refused, naming the newest committed checkpoint and, among equals, the lowest subtask', () => {
  const verdict = judgeRestore(7, [{ subtaskIndex: 2, checkpointId: 9 }, { subtaskIndex: 0, checkpointId: 8 }, { subtaskIndex: 1, checkpointId: 9 }, { subtaskIndex: 3, checkpointId: 6 }])
  assert.deepEqual(verdict, { ok: false, newest: { subtaskIndex: 1, checkpointId: 9 } })
})

test('the refusal names the sink, the subtask, both checkpoints and how to force it, and is not retried', () => {
  const e = restoreRefusal(at, 7, { subtaskIndex: 2, checkpointId: 9 })
  assert.equal(e.code, 'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT')
  assert.equal(e.retriable, false)
  assert.equal(e.domain, 'user')
  assert.match(e.message, /^cannot restore checkpoint 7 into job 'Orders', operator 'File Sink' \(uid out\), subtask 2\/3: this sink already committed the output of checkpoint 9 \(recorded by its subtask with index 2\)/)
  assert.match(e.message, /Restore from checkpoint 9 or a later one/)
  assert.match(e.message, /execution\.state-recovery\.allow-duplicate-output: true \(weir run --allow-duplicate-output\)/)
})

test('output committed at the end of input of a job without checkpoints is named as such, not as a huge checkpoint id', () => {
  const end = Number.MAX_SAFE_INTEGER
  assert.deepEqual(judgeRestore(3, [{ subtaskIndex: 0, checkpointId: end }]), { ok: false, newest: { subtaskIndex: 0, checkpointId: end } })
  const e = restoreRefusal(at, 3, { subtaskIndex: 0, checkpointId: end })
  assert.match(e.message, /committed the output of the end of input/)
  assert.doesNotMatch(e.message, new RegExp(String(end)))
})

test('the warning of a forced restore says that output is written a second time', () => {
  assert.match(forcedRestoreWarning(at, 7, { subtaskIndex: 0, checkpointId: 9 }), /^Warning: restoring checkpoint 7 into .* although this sink already committed the output of checkpoint 9 .*committed a second time$/)
})
