import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SequenceSource, type SequenceSplit } from '../../../src/connectors/collection/sequence-source.ts'
import { InputStatus, type SourceReader, type SourceReaderContext, type SplitEnumeratorContext } from '../../../src/api/source.ts'
import { UserError } from '../../../src/errors.ts'

const readerCtx: SourceReaderContext = { subtaskIndex: 0, parallelism: 1, attemptNumber: 0, sendSplitRequest() {}, signalAvailable() {} }

/** The splits the enumerator hands out, in order, by asking it until it says there are no more. */
function splitsOf(source: SequenceSource, parallelism: number): SequenceSplit[] {
  const assigned: SequenceSplit[] = []
  let done = false
  const ctx: SplitEnumeratorContext<SequenceSplit> = {
    parallelism,
    assignSplit: (split) => void assigned.push(split),
    assignSplits: (splits) => void assigned.push(...splits),
    signalNoMoreSplits: () => void (done = true),
  }
  const enumerator = source.createEnumerator(ctx)
  enumerator.start()
  for (let i = 0; !done; i++) {
    assert.ok(i < 1_000_000, 'the enumerator runs out of splits')
    enumerator.handleSplitRequest(i % parallelism)
  }
  return assigned
}

function drain(reader: SourceReader<number, SequenceSplit>): number[] {
  const out: number[] = []
  for (let i = 0; i < 1_000_000; i++) {
    if (reader.pollNext({ collect: (v) => void out.push(v) }) === InputStatus.END_OF_INPUT) return out
  }
  throw new Error('reader did not finish')
}

function readSplits(source: SequenceSource, splits: SequenceSplit[]): number[] {
  const reader = source.createReader(readerCtx)
  reader.addSplits(splits.map((s) => ({ ...s })))
  reader.notifyNoMoreSplits()
  return drain(reader)
}

function range(from: number, to: number): number[] {
  const out: number[] = []
  for (let v = from; v <= to; v++) out.push(v)
  return out
}

const CASES: Array<[number, number]> = [[1, 10], [0, 0], [1, 10_000], [-10, -1], [-5, 5], [-3000, 2999], [7, 9]]

for (const [from, to] of CASES) {
  for (const p of [1, 2, 3, 8]) {
    test(`splits of ${from}..${to} at parallelism ${p} cover every number exactly once, in order within each split`, () => {
      const source = new SequenceSource(from, to)
      const splits = splitsOf(source, p)
      assert.ok(splits.length >= 1 && splits.length <= 4 * p)
      const perSplit = splits.map((s) => readSplits(source, [s]))
      for (const [i, values] of perSplit.entries()) {
        assert.ok(values.length > 0, `split ${i} is not empty`)
        for (let j = 1; j < values.length; j++) assert.equal(values[j], values[j - 1]! + 1, `split ${i} counts up by one`)
      }
      assert.deepEqual(perSplit.flat(), range(from, to))
    })
  }
}

test('a range with fewer numbers than wanted splits has one split per number', () => {
  const splits = splitsOf(new SequenceSource(5, 7), 4)
  assert.deepEqual(splits.map((s) => [s.next, s.to]), [[5, 5], [6, 6], [7, 7]])
})

test('from > to is an empty sequence: no splits, and a reader ends at once', () => {
  const source = new SequenceSource(10, 1)
  assert.deepEqual(splitsOf(source, 3), [])
  assert.deepEqual(readSplits(source, []), [])
})

test('the whole range of safe integers splits into contiguous, non-empty splits from from to to', () => {
  for (const [from, to] of [[0, Number.MAX_SAFE_INTEGER], [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [Number.MIN_SAFE_INTEGER, 0]]) {
    for (const p of [1, 3, 7]) {
      const splits = splitsOf(new SequenceSource(from!, to!), p)
      assert.equal(splits[0]!.next, from, `${from}..${to} p ${p}: starts at from`)
      assert.equal(splits.at(-1)!.to, to, `${from}..${to} p ${p}: ends at to`)
      for (const [i, s] of splits.entries()) {
        assert.ok(Number.isSafeInteger(s.next) && Number.isSafeInteger(s.to) && s.next <= s.to, `${from}..${to} p ${p}: split ${i} [${s.next}, ${s.to}]`)
        if (i > 0) assert.equal(s.next, splits[i - 1]!.to + 1, `${from}..${to} p ${p}: split ${i} follows split ${i - 1}`)
      }
    }
  }
})

test('non-integral or unsafe bounds are rejected', () => {
  for (const [from, to] of [[0.5, 10], [0, Infinity], [0, 2 ** 53], [NaN, 1]]) {
    assert.throws(() => new SequenceSource(from!, to!), (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_ARGUMENT' && /safe integers/.test(e.message))
  }
})

test('a snapshot taken mid-split lets a fresh reader resume exactly', () => {
  const source = new SequenceSource(-2500, 7499) // 10000 numbers
  const splits = splitsOf(source, 1) // 4 splits of 2500, more than one poll each
  const reader: SourceReader<number, SequenceSplit> = source.createReader(readerCtx)
  reader.addSplits(splits.map((s) => ({ ...s })))
  reader.notifyNoMoreSplits()
  const before: number[] = []
  for (let i = 0; i < 5; i++) assert.equal(reader.pollNext({ collect: (v) => void before.push(v) }), InputStatus.MORE_AVAILABLE)
  const snapshot = reader.snapshotState(1)
  assert.ok(before.length > 0 && before.length < 10_000)
  // The snapshot is a copy: reading on does not move it.
  const frozen = JSON.stringify(snapshot)
  reader.pollNext({ collect() {} })
  assert.equal(JSON.stringify(snapshot), frozen)
  const rest = readSplits(source, snapshot)
  assert.deepEqual([...before, ...rest], range(-2500, 7499))
})

test('a restored enumerator hands out the splits it was restored with', () => {
  const source = new SequenceSource(1, 100)
  const assigned: SequenceSplit[] = []
  const restored = [{ next: 40, to: 50 }, { next: 90, to: 100 }]
  const enumerator = source.createEnumerator({ parallelism: 2, assignSplit: (s) => void assigned.push(s), assignSplits: (s) => void assigned.push(...s), signalNoMoreSplits() {} }, restored)
  enumerator.handleSplitRequest(0)
  enumerator.handleSplitRequest(1)
  enumerator.handleSplitRequest(0)
  assert.deepEqual(assigned, restored)
  assert.deepEqual(readSplits(source, assigned), [...range(40, 50), ...range(90, 100)])
})
