import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { DELETED, freezePending, frozenGet, MAX_FROZEN_GENERATIONS, NO_GENERATIONS, stackGeneration, type MapPending, type Table } from '../../../src/state/lmdb/write-generations.ts'
import { CLEANUP_EVERY } from '../../../src/state/lmdb/ttl-maintenance.ts'

function table(kind: Table['kind'] = 'value'): Table {
  return { name: 's', id: 1, kind, ttl: null, timestamped: false, pending: new Map(), frozen: NO_GENERATIONS, committing: NO_GENERATIONS, cache: new Map(), lastBatch: null, cleanupCursor: null, cleanupCountdown: CLEANUP_EVERY, state: null }
}

describe('frozen generations', () => {
  test('a capture stacks its generation on top without copying the older ones, and lookups take the newest write', () => {
    const older = new Map<unknown, unknown>([['a', 1], ['b', 1]])
    const newer = new Map<unknown, unknown>([['a', 2], ['c', DELETED]])
    const stacked = stackGeneration('value', [older], newer)
    assert.equal(stacked.length, 2)
    assert.equal(stacked[0], newer)
    assert.equal(stacked[1], older)
    assert.equal(frozenGet(stacked, 'a'), 2)
    assert.equal(frozenGet(stacked, 'b'), 1)
    assert.equal(frozenGet(stacked, 'c'), DELETED)
    assert.equal(frozenGet(stacked, 'd'), undefined)
  })

  test(`past ${MAX_FROZEN_GENERATIONS} generations the two oldest merge, the newer write winning, and the stacked maps stay untouched`, () => {
    let frozen: ReadonlyArray<Map<unknown, unknown>> = NO_GENERATIONS
    const gens: Array<Map<unknown, unknown>> = []
    for (let i = 0; i <= MAX_FROZEN_GENERATIONS; i++) {
      const gen = new Map<unknown, unknown>([['k', i], [`only-${i}`, i]])
      gens.push(gen)
      frozen = stackGeneration('value', frozen, gen)
    }
    assert.equal(frozen.length, MAX_FROZEN_GENERATIONS)
    for (let i = 0; i <= MAX_FROZEN_GENERATIONS; i++) assert.equal(frozenGet(frozen, `only-${i}`), i)
    assert.equal(frozenGet(frozen, 'k'), MAX_FROZEN_GENERATIONS)
    assert.equal(frozen.at(-1)!.get('k'), 1, 'the merged generation holds the newer of the two oldest writes')
    assert.deepEqual([...gens[0]!], [['k', 0], ['only-0', 0]], 'a generation a capture may still read is never modified')
  })

  test('merging map generations keeps a newer clear and adds entries over an older one', () => {
    let frozen: ReadonlyArray<Map<unknown, unknown>> = NO_GENERATIONS
    for (let i = 0; i <= MAX_FROZEN_GENERATIONS; i++) {
      const mp: MapPending = { cleared: i === 1, entries: new Map([[`e${i}`, i]]), t: undefined }
      frozen = stackGeneration('map', frozen, new Map([['u', mp]]))
    }
    const merged = frozen.at(-1)!.get('u') as MapPending
    assert.equal(merged.cleared, true)
    assert.deepEqual([...merged.entries], [['e1', 1]], 'the clear of generation 1 drops generation 0')
  })
})

describe('freezing at a capture', () => {
  test('moves each pending Map into the frozen generations as it is, and leaves the array an earlier capture saw untouched', () => {
    const a = table()
    const b = { ...table(), name: 't', id: 2 }
    a.pending = new Map<unknown, unknown>([['k', 1]])
    const first = freezePending([a, b])
    assert.equal(first.gen.length, 1)
    assert.equal(first.gen[0]!.entries.get('k'), 1)
    assert.equal(first.overlay.length, 1, 'a state with nothing uncommitted adds nothing to the overlay')
    const seen = first.overlay[0]!.gens
    assert.equal(a.pending.size, 0)
    a.pending.set('k', 2)
    const second = freezePending([a, b])
    assert.deepEqual(second.overlay[0]!.gens.map((g) => g.get('k')), [2, 1], 'newest first')
    assert.deepEqual(seen.map((g) => g.get('k')), [1], 'the first capture still sees only its own moment')
    assert.equal(freezePending([a, b]).gen.length, 0, 'a capture with nothing pending freezes nothing new')
  })
})
