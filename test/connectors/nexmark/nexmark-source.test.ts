// The Nexmark generator: the kinds in proportion 1 : 3 : 46 by event id, ids as the nexmark
// repository assigns them, event times at the configured rate on parallel timelines, and
// determinism: a split restarted at any position produces the same events.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NexmarkGenerator, splitConfigs } from '../../../src/connectors/nexmark/generator.ts'
import { NEXMARK_DEFAULTS } from '../../../src/connectors/nexmark/options.ts'
import { NexmarkSource, type NexmarkSplit } from '../../../src/connectors/nexmark/nexmark-source.ts'
import { InputStatus, type SplitEnumeratorContext } from '../../../src/api/source.ts'

const options = { ...NEXMARK_DEFAULTS, events: 50_000, firstEventRate: 10_000 }

test('persons, auctions and bids come in the proportion 1 : 3 : 46, with person and auction ids from the event id', () => {
  const [split] = splitConfigs(options, 1)
  const g = new NexmarkGenerator(options, split!)
  const counts = [0, 0, 0]
  let lastPerson = -1
  let lastAuction = -1
  for (let i = 0; i < 5000; i++) {
    const e = g.event(i)
    counts[e.type]!++
    if (e.type === 0) {
      if (lastPerson >= 0) assert.equal(e.id, lastPerson + 1, 'person ids are consecutive')
      else assert.equal(e.id, 1001, 'the first event id is 2 (firstEventId 1 + firstEventNumber 1), so the first person is 1000 + 1')
      lastPerson = e.id
    }
    if (e.type === 1) {
      if (lastAuction >= 0) assert.equal(e.id, lastAuction + 1, 'auction ids are consecutive')
      else assert.equal(e.id, 1001, 'event id 2 is the second auction slot of epoch 0')
      lastAuction = e.id
      assert.ok(e.category >= 10 && e.category < 15)
      assert.ok(e.expires > e.dateTime)
      assert.ok(e.reserve >= e.initialBid)
    }
    if (e.type === 2) {
      assert.ok(e.auction >= 1000 && e.auction <= lastAuction + 11, 'bids are for existing auctions (or a few ahead)')
      assert.ok(e.bidder >= 2000, 'the repository adds the first person id twice to bidders')
      assert.ok(e.price >= 100 && e.price <= 100_000_000)
    }
  }
  assert.deepEqual(counts, [100, 300, 4600])
})

test('event times advance at the rate; p splits run on parallel timelines at rate / p each', () => {
  const one = new NexmarkGenerator(options, splitConfigs(options, 1)[0]!)
  assert.equal(one.event(10_000).dateTime - one.event(0).dateTime, 1000, '10,000 events at 10,000/s span 1 s')
  const two = splitConfigs(options, 2).map((c) => new NexmarkGenerator(options, c))
  assert.equal(two[0]!.event(5000).dateTime - two[0]!.event(0).dateTime, 1000)
  assert.equal(two[0]!.event(0).dateTime, two[1]!.event(0).dateTime, 'both timelines start at the base time')
})

test('the generator is deterministic: event n is the same whenever it is generated, so a split rewinds exactly', () => {
  const c = splitConfigs(options, 3)[1]!
  const a = new NexmarkGenerator(options, c)
  const b = new NexmarkGenerator(options, c)
  const forward = Array.from({ length: 200 }, (_, i) => a.event(i))
  const backward = Array.from({ length: 200 }, (_, i) => b.event(199 - i)).reverse()
  assert.deepEqual(forward, backward)
  const other = new NexmarkGenerator({ ...options, seed: 2 }, c)
  assert.notDeepEqual(Array.from({ length: 50 }, (_, i) => other.event(i)), forward.slice(0, 50), 'another seed gives other events')
})

test('out-of-order groups shuffle timestamps within a group; the generator\'s watermark bounds them', () => {
  const o = { ...options, firstEventRate: 1000, outOfOrderGroupSize: 10 }
  const g = new NexmarkGenerator(o, splitConfigs(o, 1)[0]!)
  let outOfOrder = 0
  let prev = -Infinity
  for (let i = 0; i < 700; i++) {
    const t = g.event(i).dateTime
    if (t < prev) outOfOrder++
    prev = Math.max(prev, t)
    assert.ok(t >= g.watermarkFor(i))
  }
  assert.ok(outOfOrder > 0)
})

test('the source refuses bad options with a clear error', () => {
  assert.throws(() => new NexmarkSource({ events: -1 }), /events must be a non-negative integer/)
  assert.throws(() => new NexmarkSource({ outOfOrderGroupSize: 0 }), /outOfOrderGroupSize/)
  assert.throws(() => new NexmarkSource({ lingerMs: Number('soon') }), /lingerMs must be a non-negative number/)
})

/** An enumerator of `source` at `parallelism`, recording what each subtask is told, in order. */
function enumeratorOf(source: NexmarkSource, parallelism: number, restored?: NexmarkSplit[]) {
  const told: Array<[subtask: number, what: number[] | 'no more']> = []
  const ctx: SplitEnumeratorContext<NexmarkSplit> = {
    parallelism,
    assignSplit: (split, subtask) => void told.push([subtask, [split.index]]),
    assignSplits: (splits, subtask) => void told.push([subtask, splits.map((s) => s.index)]),
    signalNoMoreSplits: (subtask) => void told.push([subtask, 'no more']),
  }
  return { enumerator: source.createEnumerator(ctx, restored), told }
}

// A reader that finished its split before the other reader asked for one used to get that
// split too, and read its events (from the same base time) after its watermark had passed them.
test('each split has one owner reader: a reader that finished its own split never takes another reader\'s', () => {
  const { enumerator, told } = enumeratorOf(new NexmarkSource({ events: 1000 }), 2)
  enumerator.start()
  enumerator.handleSplitRequest(0)
  enumerator.handleSplitRequest(0)
  enumerator.handleSplitRequest(1)
  enumerator.handleSplitRequest(1)
  assert.deepEqual(told, [[0, [0]], [0, 'no more'], [1, [1]], [1, 'no more']])
})

test('a reader gets all the splits it owns in one assignment, so it reads their timelines side by side', () => {
  const { enumerator, told } = enumeratorOf(new NexmarkSource({ events: 1000, splits: 5 }), 2)
  enumerator.handleSplitRequest(1)
  enumerator.handleSplitRequest(0)
  enumerator.handleSplitRequest(1)
  assert.deepEqual(told, [[1, [1, 3]], [0, [0, 2, 4]], [1, 'no more']])
})

test('splits not yet handed out when a checkpoint was taken go to their owners at the restored parallelism', () => {
  const source = new NexmarkSource({ events: 1000, splits: 3 })
  const first = enumeratorOf(source, 3)
  first.enumerator.handleSplitRequest(0)
  const state = first.enumerator.snapshotState(1)
  assert.deepEqual(state.map((s) => s.index).sort(), [1, 2])
  const { enumerator, told } = enumeratorOf(source, 2, state)
  enumerator.handleSplitRequest(0)
  enumerator.handleSplitRequest(1)
  assert.deepEqual(told, [[0, [2]], [1, [1]]])
})

test('lingerMs: Infinity keeps the input open after the last event, so the job runs until it is canceled', () => {
  for (const lingerMs of [0, Infinity]) {
    const source = new NexmarkSource({ events: 100, lingerMs })
    const reader = source.createReader({ subtaskIndex: 0, parallelism: 1, attemptNumber: 0, sendSplitRequest() {}, signalAvailable() {} })
    reader.start()
    reader.addSplits(enumeratorSplits(source))
    reader.notifyNoMoreSplits()
    const events: unknown[] = []
    const statuses = new Set<number>()
    for (let i = 0; i < 10; i++) statuses.add(reader.pollNext({ collect: (e) => void events.push(e) }))
    reader.close()
    assert.equal(events.length, 100)
    if (lingerMs === 0) assert.ok(statuses.has(InputStatus.END_OF_INPUT), 'without lingering the input ends')
    else assert.deepEqual([...statuses], [InputStatus.NOTHING_AVAILABLE], 'lingering forever, the input never ends')
  }
})

/** The splits the enumerator gives a single reader. */
function enumeratorSplits(source: NexmarkSource): NexmarkSplit[] {
  const splits: NexmarkSplit[] = []
  const ctx = { parallelism: 1, assignSplit: (s: NexmarkSplit) => void splits.push(s), assignSplits: (s: readonly NexmarkSplit[]) => void splits.push(...s), signalNoMoreSplits() {} }
  source.createEnumerator(ctx).handleSplitRequest(0)
  return splits
}

// -p 2 is only twice -p 1 if each reader generates its own half and nothing more: a reader that
// generated every event and dropped the others' would cost as much as the whole run.
test('at parallelism 2 each reader generates exactly its half of the events, and together they generate each event once', () => {
  const events = 10_001
  const source = new NexmarkSource({ events })
  const requests: number[] = []
  const readers = [0, 1].map((subtaskIndex) => source.createReader({ subtaskIndex, parallelism: 2, attemptNumber: 0, sendSplitRequest: () => void requests.push(subtaskIndex), signalAvailable() {} }))
  const ctx: SplitEnumeratorContext<NexmarkSplit> = {
    parallelism: 2,
    assignSplit: (split, subtask) => readers[subtask]!.addSplits([split]),
    assignSplits: (splits, subtask) => readers[subtask]!.addSplits([...splits]),
    signalNoMoreSplits: (subtask) => readers[subtask]!.notifyNoMoreSplits(),
  }
  const enumerator = source.createEnumerator(ctx)
  const ids = readers.map(() => new Set<string>())
  const polls = [0, 0]
  for (const [i, reader] of readers.entries()) {
    reader.start()
    while (requests.length > 0) enumerator.handleSplitRequest(requests.shift()!)
    let status: InputStatus
    do {
      status = reader.pollNext({ collect: (e) => void ids[i]!.add(JSON.stringify(e)) })
      polls[i]!++
      while (requests.length > 0) enumerator.handleSplitRequest(requests.shift()!)
    } while (status !== InputStatus.END_OF_INPUT && polls[i]! < 1000)
    reader.close()
    assert.equal(status, InputStatus.END_OF_INPUT, `reader ${i} ends`)
  }
  assert.deepEqual(ids.map((s) => s.size), [5000, 5001], 'each reader emits its own split: half the events (the last split takes the remainder)')
  const all = new Set([...ids[0]!, ...ids[1]!])
  assert.equal(all.size, events, 'no event is generated by both readers')
  const expected = new Set([...source.allEvents(2)].map((e) => JSON.stringify(e)))
  assert.deepEqual(all, expected, 'together they generate the run\'s events')
  // Polls: a reader emits `batch` events per poll, so it polls about its share / batch times.
  assert.ok(polls.every((n) => n <= Math.ceil(5001 / NEXMARK_DEFAULTS.batch) + 2), `polls per reader: ${polls.join(', ')}`)
})
