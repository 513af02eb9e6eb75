import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StreamEnvironment } from '../../src/api/environment.ts'
import { Configuration } from '../../src/config/configuration.ts'
import { buildJobGraph, channelId, isPointwise, uidOf, type JobGraph, type JobGraphOptions } from '../../src/graph/job-graph.ts'
import { UserError } from '../../src/errors.ts'

function env(): StreamEnvironment {
  return new StreamEnvironment([], new Configuration({ 'parallelism.default': 2 }))
}

function build(e: StreamEnvironment, options: Partial<JobGraphOptions> = {}): JobGraph {
  return buildJobGraph(e.transformations, { defaultParallelism: 2, maxParallelism: -1, chaining: true, ...options })
}

const names = (g: JobGraph) => g.vertices.map((v) => v.operators.map((o) => o.name))
const edges = (g: JobGraph) => g.edges.map((e) => ({ source: e.source, target: e.target, type: e.partitioner.type, targetInput: e.targetInput }))

function wordCount(e: StreamEnvironment): void {
  e.fromSequence(1, 10)
    .map((x) => [String(x % 3), x] as [string, number])
    .keyBy((t) => t[0])
    .sum(1)
    .print()
}

test('source and map chain into one vertex, keyBy starts a new one, and the sink chains after the sum', () => {
  const e = env()
  wordCount(e)
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source', 'Map'], ['Keyed Aggregation', 'Print to Std. Out']])
  assert.deepEqual(edges(g), [{ source: 0, target: 1, type: 'hash', targetInput: 1 }])
  assert.equal(g.vertices[0]!.name, 'Sequence Source -> Map')
  assert.deepEqual(g.vertices.map((v) => v.parallelism), [2, 2])
  assert.deepEqual(g.vertices.map((v) => v.maxParallelism), [128, 128])
  assert.equal(g.vertices[0]!.outputs[0], g.edges[0])
  assert.equal(g.vertices[1]!.inputs[0], g.edges[0])
  assert.equal(g.channelCount, 4) // all-to-all: 2 x 2
})

test('at parallelism 1 a keyBy chains too: one vertex, no edge, no channel', () => {
  const e = env()
  wordCount(e)
  const g = build(e, { defaultParallelism: 1 })
  assert.deepEqual(names(g), [['Sequence Source', 'Map', 'Keyed Aggregation', 'Print to Std. Out']])
  assert.deepEqual(g.edges, [])
  assert.equal(g.channelCount, 0)
  assert.deepEqual(g.vertices[0]!.maxParallelism, 128)
})

test('a keyBy does not chain into or out of a wider operator, nor when the keyed operator has its own max parallelism', () => {
  const wider = env()
  wider.fromSequence(1, 10).setParallelism(1).map((x) => [String(x % 3), x] as [string, number]).setParallelism(1).keyBy((t) => t[0]).sum(1).print()
  assert.deepEqual(names(build(wider)), [['Sequence Source', 'Map'], ['Keyed Aggregation', 'Print to Std. Out']])
  assert.deepEqual(edges(build(wider)).map((x) => x.type), ['hash'])
  const ownMax = env()
  ownMax.fromSequence(1, 10).map((x) => [String(x % 3), x] as [string, number]).keyBy((t) => t[0]).sum(1).setMaxParallelism(256).print()
  const g = build(ownMax, { defaultParallelism: 1 })
  assert.deepEqual(names(g), [['Sequence Source', 'Map'], ['Keyed Aggregation', 'Print to Std. Out']])
  assert.deepEqual(g.vertices.map((v) => v.maxParallelism), [128, 256])
  // The same max parallelism from the options for every operator: chained again.
  assert.deepEqual(names(build(ownMax, { defaultParallelism: 1, maxParallelism: 256 })), [['Sequence Source', 'Map', 'Keyed Aggregation', 'Print to Std. Out']])
})

test('a different parallelism breaks the chain and redistributes with rebalance', () => {
  const e = env()
  e.fromSequence(1, 10)
    .map((x) => x + 1).setParallelism(3)
    .filter((x) => x > 2).setParallelism(3)
    .map((x) => x * 2) // the default parallelism (2), as in Flink: not inherited from upstream
    .print().setParallelism(1)
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source'], ['Map', 'Filter'], ['Map'], ['Print to Std. Out']])
  assert.deepEqual(g.vertices.map((v) => v.parallelism), [2, 3, 2, 1])
  assert.deepEqual(edges(g), [
    { source: 0, target: 1, type: 'rebalance', targetInput: 1 },
    { source: 1, target: 2, type: 'rebalance', targetInput: 1 },
    { source: 2, target: 3, type: 'rebalance', targetInput: 1 },
  ])
  assert.equal(g.channelCount, 2 * 3 + 3 * 2 + 2 * 1)
})

test('a source limited to parallelism 1 does not chain with a wider map', () => {
  const e = env()
  e.fromElements('a', 'b').map((s) => s.toUpperCase()).print()
  const g = build(e, { defaultParallelism: 4 })
  assert.deepEqual(names(g), [['Collection Source'], ['Map', 'Print to Std. Out']])
  assert.deepEqual(g.vertices.map((v) => v.parallelism), [1, 4])
  assert.equal(g.edges[0]!.partitioner.type, 'rebalance')
})

test('an explicit rebalance between operators of equal parallelism breaks the chain', () => {
  const e = env()
  e.fromSequence(1, 10).rebalance().map((x) => x).print()
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source'], ['Map', 'Print to Std. Out']])
  assert.deepEqual(edges(g), [{ source: 0, target: 1, type: 'rebalance', targetInput: 1 }])
})

test('an explicit forward between operators of equal parallelism chains them', () => {
  const e = env()
  e.fromSequence(1, 10).forward().map((x) => x).print()
  assert.deepEqual(names(build(e)), [['Sequence Source', 'Map', 'Print to Std. Out']])
})

test('an explicit forward with different parallelism fails naming both operators and their parallelism', () => {
  const e = env()
  e.fromSequence(1, 10).setParallelism(2).name('numbers').forward().map((x) => x).setParallelism(3).name('doubler').print()
  assert.throws(
    () => build(e),
    (err: unknown) => err instanceof UserError && err.code === 'WEIR_INVALID_JOB'
      && err.message.includes("'numbers' (2)") && err.message.includes("'doubler' (3)") && /forward/.test(err.message),
  )
})

test('an operator whose output goes to two consumers does not chain with either', () => {
  const e = env()
  const mapped = e.fromSequence(1, 10).map((x) => x)
  mapped.print()
  mapped.filter((x) => x > 5).print()
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source', 'Map'], ['Print to Std. Out'], ['Filter', 'Print to Std. Out']])
  assert.deepEqual(edges(g), [
    { source: 0, target: 1, type: 'forward', targetInput: 1 },
    { source: 0, target: 2, type: 'forward', targetInput: 1 },
  ])
})

test('union feeds both inputs into the consumer as separate edges of input 1', () => {
  const e = env()
  const a = e.fromSequence(1, 10)
  const b = e.fromSequence(11, 20)
  const c = e.fromSequence(21, 30).setParallelism(1)
  a.union(b, c).map((x) => x * 2).print()
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source'], ['Sequence Source'], ['Sequence Source'], ['Map', 'Print to Std. Out']])
  assert.deepEqual(edges(g), [
    { source: 0, target: 3, type: 'forward', targetInput: 1 },
    { source: 1, target: 3, type: 'forward', targetInput: 1 },
    { source: 2, target: 3, type: 'rebalance', targetInput: 1 },
  ])
  assert.equal(g.vertices[3]!.inputs.length, 3)
})

test('a union of keyed streams keeps the hash partitioning on every edge', () => {
  const e = env()
  const a = e.fromSequence(1, 10)
  const b = e.fromSequence(11, 20)
  a.union(b).keyBy((x) => x % 2).sum(0 as never).print()
  const g = build(e)
  assert.deepEqual(edges(g).map((x) => x.type), ['hash', 'hash'])
})

test('connect feeds the first stream into input 1 and the second into input 2', () => {
  const e = env()
  const a = e.fromSequence(1, 10)
  const b = e.fromElements('x', 'y')
  a.connect(b).map({ map1: (n) => String(n), map2: (s) => s }).print()
  const g = build(e)
  assert.deepEqual(names(g), [['Sequence Source'], ['Collection Source'], ['Co-Map', 'Print to Std. Out']])
  assert.deepEqual(edges(g), [
    { source: 0, target: 2, type: 'forward', targetInput: 1 },
    { source: 1, target: 2, type: 'rebalance', targetInput: 2 },
  ])
})

test('a keyed connect partitions both inputs by hash', () => {
  const e = env()
  const a = e.fromSequence(1, 10)
  const b = e.fromSequence(1, 10)
  a.connect(b).keyBy((x) => x, (y) => y).map({ map1: (n) => n, map2: (n) => -n }).print()
  const g = build(e)
  assert.deepEqual(edges(g), [
    { source: 0, target: 2, type: 'hash', targetInput: 1 },
    { source: 1, target: 2, type: 'hash', targetInput: 2 },
  ])
})

test('uids are stable across two builds of the same job, and distinct within a job', () => {
  const uids = () => {
    const e = env()
    wordCount(e)
    return build(e).vertices.flatMap((v) => v.uids)
  }
  const first = uids()
  assert.equal(first.length, 4)
  assert.deepEqual(uids(), first)
  assert.equal(new Set(first).size, first.length)
})

test('an explicit uid wins over the generated one and does not change the others', () => {
  const plain = env()
  wordCount(plain)
  const generated = build(plain).vertices.flatMap((v) => v.uids)

  const e = env()
  e.fromSequence(1, 10)
    .map((x) => [String(x % 3), x] as [string, number]).uid('to-pairs')
    .keyBy((t) => t[0])
    .sum(1)
    .print().uid('stdout')
  const g = build(e)
  const uids = g.vertices.flatMap((v) => v.uids)
  assert.deepEqual(uids, [generated[0], 'to-pairs', generated[2], 'stdout'])
  for (const v of g.vertices) assert.deepEqual(v.uids, v.operators.map(uidOf))
})

test('a source with no operator after it fails with a message that names it and says to add a sink', () => {
  const e = env()
  e.fromSequence(1, 10).name('lonely numbers')
  assert.throws(
    () => build(e),
    (err: unknown) => err instanceof UserError && err.code === 'WEIR_INVALID_JOB' && /source 'lonely numbers' is not connected.*add a sink/.test(err.message),
  )
})

test('a job with no operators at all fails with a clear message', () => {
  assert.throws(() => build(env()), (err: unknown) => err instanceof UserError && err.code === 'WEIR_INVALID_JOB' && /no operators/.test(err.message))
})

test('with chaining off every operator is its own vertex, connected by forward edges', () => {
  const e = env()
  wordCount(e)
  const g = build(e, { chaining: false })
  assert.deepEqual(names(g), [['Sequence Source'], ['Map'], ['Keyed Aggregation'], ['Print to Std. Out']])
  assert.deepEqual(edges(g).map((x) => x.type), ['forward', 'hash', 'forward'])
  assert.equal(g.channelCount, 2 + 4 + 2)
})

test('max parallelism comes from the options, an operator setting, or the default of at least 128', () => {
  const e = env()
  e.fromSequence(1, 10).map((x) => x).keyBy((x) => x).sum(0 as never).setMaxParallelism(256).print()
  assert.deepEqual(build(e).vertices.map((v) => v.maxParallelism), [128, 256])
  assert.deepEqual(build(e, { maxParallelism: 1024 }).vertices.map((v) => v.maxParallelism), [1024, 256])
  assert.deepEqual(build(e, { defaultParallelism: 200 }).vertices.map((v) => v.maxParallelism), [512, 256]) // 1.5 * 200 -> 512
})

test('a parallelism above the max parallelism fails', () => {
  const e = env()
  e.fromSequence(1, 10).map((x) => x).setParallelism(8).setMaxParallelism(4).print()
  assert.throws(() => build(e), (err: unknown) => err instanceof UserError && /parallelism/.test(err.message))
})

test('a source cannot run wider than it supports', () => {
  const e = env()
  e.fromElements(1, 2).setParallelism(2).print()
  assert.throws(() => build(e), (err: unknown) => err instanceof UserError && err.code === 'WEIR_INVALID_JOB' && /'Collection Source' supports a parallelism of at most 1, but 2 was set/.test(err.message))
})

test('channel ids are distinct for every (edge, from, to) and fill 0..channelCount-1', () => {
  const e = env()
  const a = e.fromSequence(1, 100).setParallelism(3)
  const b = e.fromSequence(1, 100).setParallelism(2)
  const keyed = a.map((x) => x).keyBy((x) => x % 7)
  keyed.connect(b.rebalance()).map({ map1: (x) => x, map2: (x) => x }).setParallelism(4).print().setParallelism(4)
  a.map((x) => x).setParallelism(3).print() // a second, forward consumer of a
  const g = build(e, { chaining: false })
  const seen = new Map<number, string>()
  for (const edge of g.edges) {
    const up = g.vertices[edge.source]!.parallelism
    const down = g.vertices[edge.target]!.parallelism
    for (let from = 0; from < up; from++) {
      for (let to = 0; to < down; to++) {
        if (isPointwise(edge) && to !== from) continue
        const id = channelId(edge, down, from, to)
        const who = `edge ${edge.id} ${from}->${to}`
        assert.ok(!seen.has(id), `${who} reuses channel ${id} of ${seen.get(id)}`)
        assert.ok(Number.isInteger(id) && id >= 0 && id < g.channelCount, `${who}: channel ${id} out of [0, ${g.channelCount})`)
        seen.set(id, who)
      }
    }
  }
  assert.equal(seen.size, g.channelCount)
  assert.ok(g.edges.some(isPointwise) && g.edges.some((x) => !isPointwise(x)), 'the job has both pointwise and all-to-all edges')
})

test('vertex and edge ids are their positions', () => {
  const e = env()
  wordCount(e)
  const g = build(e, { chaining: false })
  g.vertices.forEach((v, i) => assert.equal(v.id, i))
  g.edges.forEach((x, i) => assert.equal(x.id, i))
})
