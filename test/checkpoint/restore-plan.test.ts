import { test } from 'node:test'
import assert from 'node:assert/strict'
import { basename, join, resolve } from 'node:path'
import { StreamEnvironment } from '../../src/api/environment.ts'
import { Configuration } from '../../src/config/configuration.ts'
import { buildJobGraph, type JobGraph } from '../../src/graph/job-graph.ts'
import { planRestore, type RestoreSource } from '../../src/checkpoint/restore-plan.ts'
import type { CheckpointMetadata, VertexStateEntry } from '../../src/checkpoint/metadata.ts'
import type { StateHandle } from '../../src/checkpoint/state-handle.ts'
import { isWeirError } from '../../src/errors.ts'

/** source(uid src) -> map(uid map) | keyBy | sum(uid sum) -> print(uid sink): vertices 0 and 1 (one vertex at parallelism 1, where the keyBy chains). */
function graph(parallelism: number, maxParallelism = -1, uids = { sum: 'sum' }): JobGraph {
  const e = new StreamEnvironment([], new Configuration({ 'parallelism.default': parallelism }))
  e.fromSequence(1, 10).uid('src')
    .map((x) => [String(x % 3), x] as [string, number]).uid('map')
    .keyBy((t) => t[0])
    .sum(1).uid(uids.sum)
    .print().uid('sink')
  return buildJobGraph(e.transformations, { defaultParallelism: parallelism, maxParallelism, chaining: true })
}

const CHK = resolve('/checkpoints/job/chk-7')
const file = (vertex: number, subtask: number): StateHandle => ({ type: 'file', path: `task-${vertex}-${subtask}-0.state`, size: 100 })
const fileAt = (vertex: number, subtask: number) => ({ type: 'file', path: join(CHK, `task-${vertex}-${subtask}-0.state`), size: 100 })

function vertex(id: number, uids: string[], parallelism: number, maxParallelism = 128, handle = (s: number): StateHandle | null => file(id, s)): VertexStateEntry {
  return {
    vertex: id, uids, name: uids.join(' -> '), parallelism, maxParallelism,
    subtasks: Array.from({ length: parallelism }, (_, s) => ({ subtask: s, handle: handle(s), stateSize: handle(s) === null ? 0 : 10 })),
  }
}

function metadata(vertices: VertexStateEntry[], coordinators: Record<string, unknown> = { src: { next: 5 } }): CheckpointMetadata {
  return { version: 1, kind: 'checkpoint', jobId: 'j', jobName: 'job', checkpointId: 7, triggeredAt: 1, completedAt: 2, vertices, coordinators }
}

/** A compact view of a task's sources: `${old subtask}:${keyed ? 'K' : ''}${operatorState ? 'O' : ''}`. */
function view(sources: RestoreSource[] | undefined): string[] {
  return (sources ?? []).map((s) => {
    assert.equal(s.handle.type, 'file')
    const m = /task-(\d+)-(\d+)-0\.state$/.exec((s.handle as { path: string }).path)!
    return `${m[2]}:${s.keyed ? 'K' : ''}${s.operatorState ? 'O' : ''}`
  })
}

test('at the same parallelism old subtask i restores new subtask i, keyed and operator state', () => {
  const g = graph(2)
  const plan = planRestore(metadata([vertex(0, ['src', 'map'], 2), vertex(1, ['sum', 'sink'], 2)]), CHK, g, false)
  assert.equal(plan.checkpointId, 7)
  assert.deepEqual(Object.keys(plan.tasks).sort(), ['0/0', '0/1', '1/0', '1/1'])
  for (const v of [0, 1]) for (const i of [0, 1]) assert.deepEqual(view(plan.tasks[`${v}/${i}`]), [`${i}:KO`], `${v}/${i}`)
  assert.deepEqual(plan.coordinators, { src: { next: 5 } })
})

test('rescaling 2 -> 3 reads overlapping key-group ranges for keyed state and old j into new j mod 3 for operator state', () => {
  // max parallelism 128: old ranges [0,63] [64,127]; new ranges [0,42] [43,85] [86,127].
  const plan = planRestore(metadata([vertex(0, ['src', 'map'], 2), vertex(1, ['sum', 'sink'], 2)]), CHK, graph(3), false)
  assert.deepEqual(view(plan.tasks['1/0']), ['0:KO'])
  assert.deepEqual(view(plan.tasks['1/1']), ['0:K', '1:KO'])
  assert.deepEqual(view(plan.tasks['1/2']), ['1:K'])
  assert.deepEqual(view(plan.tasks['0/2']), ['1:K'])
})

test('rescaling 3 -> 1 gives every old subtask of both old vertices to the one new subtask, keyed and operator state', () => {
  // At parallelism 1 the keyBy chains: the four operators are one vertex.
  const plan = planRestore(metadata([vertex(0, ['src', 'map'], 3), vertex(1, ['sum', 'sink'], 3)]), CHK, graph(1), false)
  assert.deepEqual(Object.keys(plan.tasks), ['0/0'])
  assert.deepEqual(plan.tasks['0/0']!.map((s) => `${basename((s.handle as { path: string }).path)}:${s.keyed ? 'K' : ''}${s.operatorState ? 'O' : ''}`), [
    'task-0-0-0.state:KO', 'task-0-1-0.state:KO', 'task-0-2-0.state:KO', 'task-1-0-0.state:KO', 'task-1-1-0.state:KO', 'task-1-2-0.state:KO',
  ])
})

test('rescaling 3 -> 2 sends operator state of old subtask 2 to new subtask 0', () => {
  // old [0,42] [43,85] [86,127]; new [0,63] [64,127].
  const plan = planRestore(metadata([vertex(1, ['sum', 'sink'], 3)], {}), CHK, graph(2), false)
  assert.deepEqual(view(plan.tasks['1/0']), ['0:KO', '1:K', '2:O'])
  assert.deepEqual(view(plan.tasks['1/1']), ['1:KO', '2:K'])
})

test('relative state file paths are resolved against the checkpoint directory; absolute paths and inline bytes stay as they are', () => {
  const absolute: StateHandle = { type: 'file', path: resolve('/elsewhere/task.state'), size: 5 }
  const inline: StateHandle = { type: 'inline', bytes: new Uint8Array([9]) }
  const handles = [file(1, 0), absolute, inline]
  const plan = planRestore(metadata([vertex(1, ['sum', 'sink'], 3, 128, (s) => handles[s]!)], {}), CHK, graph(1), false)
  assert.deepEqual(plan.tasks['0/0']!.map((s) => s.handle), [fileAt(1, 0), absolute, inline])
})

test('a relative state file path without a checkpoint directory is refused', () => {
  assert.throws(() => planRestore(metadata([vertex(1, ['sum', 'sink'], 2)], {}), null, graph(2), false), (e: unknown) => isWeirError(e) && e.code === 'WEIR_RESTORE_FAILED' && e.message.includes('task-1-0-0.state') && /relative path/.test(e.message))
})

test('subtasks without a handle contribute nothing', () => {
  const plan = planRestore(metadata([vertex(1, ['sum', 'sink'], 2, 128, (s) => (s === 0 ? null : file(1, s)))], {}), CHK, graph(2), false)
  assert.deepEqual(view(plan.tasks['1/0']), [])
  assert.deepEqual(view(plan.tasks['1/1']), ['1:KO'])
})

test('a changed max parallelism is refused with a message naming the operator and both values', () => {
  const g = graph(2, 256)
  assert.equal(g.vertices[1]!.maxParallelism, 256)
  assert.throws(() => planRestore(metadata([vertex(1, ['sum', 'sink'], 2, 128)], {}), CHK, g, false), (e: unknown) => {
    assert.ok(isWeirError(e))
    assert.equal(e.code, 'WEIR_RESTORE_FAILED')
    assert.match(e.message, /operator 'Keyed Aggregation -> Print to Std\. Out' has max parallelism 256, but its state was written with 128/)
    return true
  })
})

test('state of a uid the job no longer has is refused, naming the uid and --allow-non-restored-state', () => {
  const g = graph(2, -1, { sum: 'sum-v2' })
  const m = metadata([vertex(0, ['src', 'map'], 2), vertex(1, ['sum', 'sink'], 2)])
  assert.throws(() => planRestore(m, CHK, g, false), (e: unknown) => {
    assert.ok(isWeirError(e))
    assert.equal(e.code, 'WEIR_RESTORE_FAILED')
    assert.match(e.message, /operator uid 'sum'/)
    assert.match(e.message, /--allow-non-restored-state/)
    return true
  })
})

test('with allowNonRestoredState the state of a missing uid is dropped and the rest restored', () => {
  const g = graph(2, -1, { sum: 'sum-v2' })
  const gone = vertex(2, ['gone'], 2)
  const plan = planRestore(metadata([vertex(0, ['src', 'map'], 2), gone], { src: 1, 'gone-source': 2 }), CHK, g, true)
  assert.deepEqual(view(plan.tasks['0/0']), ['0:KO'])
  assert.equal(plan.tasks['1/0'], undefined)
  assert.deepEqual(plan.coordinators, { src: 1 })
})

test('an unknown uid without state does not need allowNonRestoredState', () => {
  const empty = vertex(2, ['gone'], 2, 128, () => null)
  const plan = planRestore(metadata([empty, vertex(0, ['src', 'map'], 2)], {}), CHK, graph(2), false)
  assert.deepEqual(view(plan.tasks['0/1']), ['1:KO'])
})

test('split enumerator state of a source uid the job no longer has is refused unless allowed', () => {
  assert.throws(() => planRestore(metadata([], { 'old-src': {} }), CHK, graph(2), false), (e: unknown) => isWeirError(e) && e.message.includes(`source uid 'old-src'`) && e.message.includes('--allow-non-restored-state'))
  assert.deepEqual(planRestore(metadata([], { 'old-src': {} }), CHK, graph(2), true).coordinators, {})
})
