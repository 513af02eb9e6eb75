// State is restored only into state of the same shape (src/state/state-shapes.ts): every
// checkpoint records each keyed state's kind, name and type; a job whose state has another
// shape is refused on restore, naming operator and state, and a declared migration converts
// the restored values instead. Before, another job with the same uids restored a stranger's
// state without a word. Job: test/fixtures/recovery/sequence-job.ts.

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, startJob, waitFor, guarded, type JobArtifact } from '../fixtures/state/harness.ts'
import { checkSequences } from '../helpers/sequence-check.ts'
import { incompatibility, shapeOf } from '../../src/state/state-shapes.ts'
import { ListStateDescriptor, ValueStateDescriptor } from '../../src/api/state.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-state-shapes-test-'))
let job: JobArtifact
let savepoint = ''
let outAtSavepoint = ''
const KEYS = 4
const N = 300
const ARGS = ['--keys', String(KEYS), '--n', String(N), '--batch', '5', '--pause', '5']

before(async () => {
  job = await bundleJob(fileURLToPath(new URL('../fixtures/recovery/sequence-job.ts', import.meta.url)))
  outAtSavepoint = join(root, 'out')
  const started = await startJob(job, { args: ['--out', outAtSavepoint, ...ARGS], config: { 'parallelism.default': 2 } })
  savepoint = await guarded(started, async () => {
    await waitFor('some records', () => (started.execution.metrics.recordsIn >= 100 ? true : undefined), started.execution, 120_000)
    return started.execution.stopWithSavepoint(join(root, 'savepoints'))
  })
  assert.equal((await started.execution.result).status, 'FINISHED')
})
after(() => {
  job?.dispose()
  rmSync(root, { recursive: true, force: true })
})

let runNo = 0
async function resume(args: string[], backend = 'hashmap') {
  const out = join(root, `resume-${runNo++}`)
  cpSync(outAtSavepoint, out, { recursive: true })
  const started = await startJob(job, { args: ['--out', out, ...ARGS, ...args], config: { 'parallelism.default': 2, 'state.backend.type': backend }, restoreFrom: savepoint })
  return { result: await started.execution.result, out }
}

const REFUSED: Array<[string, string[], RegExp]> = [
  ['a value state of another type', ['--state-shape', 'string'], /its default value was of type number and is now of type string/],
  ['a list state of the same name', ['--state-shape', 'list'], /it was stored as value state and is now asked for as list state/],
  ['a state whose type name changed', ['--state-type-name', 'seq/v2'], /its type was 'not named' and is now 'seq\/v2'/],
]

for (const [what, args, why] of REFUSED) {
  test(`restoring into ${what} is refused, naming the operator and the state`, { timeout: 300_000 }, async () => {
    const { result } = await resume(args)
    assert.equal(result.status, 'FAILED')
    assert.equal(result.error?.code, 'WEIR_RESTORE_FAILED')
    assert.match(result.error!.message, /cannot restore state 'lastSeq' of operator 'Sequence Verifier' \(uid sequence-verifier\)/)
    assert.match(result.error!.message, why)
    assert.equal(result.restarts, 0, 'not retried')
  })
}

for (const backend of ['hashmap', 'lmdb']) {
  test(`a declared migration converts the restored values and the job resumes exactly once (${backend})`, { timeout: 300_000 }, async () => {
    const log = join(root, `migration-${backend}.log`)
    const { result, out } = await resume(['--state-type-name', 'seq/v2', '--migrate-from', 'msgpack/1:number', '--migration-log', log], backend)
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.ok(existsSync(log), 'the migration ran')
    const migrated = readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0)
    // One conversion per key that had state in the savepoint (a source subtask may not have read its split yet).
    assert.ok(migrated.length >= 1 && migrated.length <= KEYS, `conversions: ${migrated.length}`)
    assert.ok(migrated.every((l) => /^migrated \d+$/.test(l)), migrated.join('\n'))
    const check = checkSequences(out, { keys: KEYS, n: N })
    assert.ok(check.ok, check.report)
  })
}

test('a resume into the same shape restores (the control)', { timeout: 300_000 }, async () => {
  const { result, out } = await resume([])
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.ok(checkSequences(out, { keys: KEYS, n: N }).ok)
})

test('shapes: kind, type name and the default value type decide; an unknown side is compatible', () => {
  const number = shapeOf(new ValueStateDescriptor<number>('s', 0))
  assert.equal(incompatibility(number, shapeOf(new ValueStateDescriptor<number>('s', 7))), null)
  assert.equal(incompatibility(number, shapeOf(new ValueStateDescriptor<number>('s'))), null)
  assert.match(incompatibility(number, shapeOf(new ValueStateDescriptor<string>('s', 'x'))) ?? '', /type number and is now of type string/)
  assert.match(incompatibility(number, shapeOf(new ListStateDescriptor<number>('s'))) ?? '', /value state .* list state/)
  const named = shapeOf(new ValueStateDescriptor<number>('s', 0).withTypeName('a'))
  assert.equal(incompatibility(named, shapeOf(new ValueStateDescriptor<string>('s', '').withTypeName('a'))), null, 'the type name decides when set')
  assert.match(incompatibility(named, shapeOf(new ValueStateDescriptor<number>('s', 0).withTypeName('b'))) ?? '', /'a' and is now 'b'/)
})
