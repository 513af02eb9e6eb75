// The batch format of the exchange: batches of primitives and tuples written by the codec
// itself, any other batch as a msgpackr document, timestamps and watermarks in place, and
// malformed bytes refused with a typed error.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BATCH_MSGPACK, BATCH_PRIMITIVE, decodeBatch, encodeBatch } from '../../../src/runtime/network/batch-codec.ts'
import { NO_TIMESTAMP, WATERMARK_TAG } from '../../../src/runtime/network/events.ts'
import { isWeirError } from '../../../src/errors.ts'
import { SeededRandom } from '../../../src/testing/random.ts'
import { Packr } from 'msgpackr'

/** Encodes and decodes flat (record, timestamp) pairs. */
function roundTrip(pairs: unknown[]): unknown[] {
  return decodeBatch(encodeBatch(pairs).slice())
}

/** Records with NO_TIMESTAMP, as pairs. */
const untimed = (records: unknown[]): unknown[] => records.flatMap((r) => [r, NO_TIMESTAMP])

function assertRefused(bytes: Uint8Array, what: string): void {
  assert.throws(() => decodeBatch(bytes), (e: unknown) => isWeirError(e) && e.code === 'WEIR_NETWORK_FRAME_INVALID', what)
}

test('primitive records keep their values, including -0, NaN, the infinities and integers at the edges of each width', () => {
  const records = [
    '', 'a', 'word', 'exactly8', 'ninechars', 'ünïcödé', '日本語', '😀 emoji', 'x'.repeat(85), 'y'.repeat(86), 'é'.repeat(200), 'z'.repeat(70_000),
    0, -0, 1, 255, 256, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 1.5, -2.25, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, NaN, Infinity, -Infinity,
    true, false, null, undefined,
  ]
  const out = roundTrip(untimed(records))
  assert.equal(out.length, records.length * 2)
  records.forEach((r, i) => {
    assert.ok(Object.is(out[2 * i], r), `record ${i}: ${String(out[2 * i])} for ${String(r)}`)
    assert.equal(out[2 * i + 1], NO_TIMESTAMP)
  })
})

test('tuples are written by the codec; a batch with an object in it is a msgpackr document, and both come back equal', () => {
  const tuples: unknown[] = []
  for (let i = 1; i <= 300; i++) tuples.push(['word' + (i % 7), i], [i, -i, [i * 1.5, null, [true]]], [])
  const primitive = encodeBatch(untimed(tuples))
  assert.equal(primitive[0], BATCH_PRIMITIVE)
  // An absent timestamp is one byte: [five-letter word, count] takes 12 bytes (msgpackr wrote 18).
  const words = encodeBatch(untimed(Array.from({ length: 1000 }, (_, i) => ['word' + (i % 10), 1])))
  assert.equal(words.length, 5 + 1000 * 12)
  assert.deepEqual(roundTrip(untimed(tuples)), untimed(tuples))

  const mixed = [...tuples.slice(0, 10), { auction: 1, bidder: 'b', price: 2.5 }, { 2: 'two', 1: 'one', b: 'b', a: 'a' }, ['a tuple', { with: 'an object' }]]
  assert.equal(encodeBatch(untimed(mixed))[0], BATCH_MSGPACK)
  const out = roundTrip(untimed(mixed))
  assert.deepEqual(out, untimed(mixed))
  assert.deepEqual(Object.keys(out[22] as object), ['1', '2', 'b', 'a'])
})

test('records the codec does not write itself go through msgpackr and come back as msgpackr returns them', () => {
  class Point {
    constructor(readonly x: number, readonly y: number) {}
  }
  const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]))
  const long = Array.from({ length: 1000 }, (_, i) => i)
  let deep: unknown = 'bottom'
  for (let i = 0; i < 40; i++) deep = [deep]
  const records = [new Map([['a', 1]]), new Set([1, 2]), new Date(1234), 10n ** 20n, new Uint8Array([1, 2, 3]), new Point(1, 2), wide, long, deep, ['tuple with a map', new Map([[1, 2]])]]
  for (const r of records) assert.equal(encodeBatch(untimed(['word', r]))[0], BATCH_MSGPACK, `${String(r)} goes to msgpackr`)
  const out = roundTrip(untimed(records))
  // Exactly what msgpackr (the format of every batch before this codec) makes of each record.
  const packr = new Packr({ useRecords: true, moreTypes: true })
  records.forEach((r, i) => assert.deepEqual(out[2 * i], packr.unpack(packr.pack(r)), `record ${i}`))
  assert.ok(out[4] instanceof Date && out[4].getTime() === 1234)
  assert.equal(out[6], 10n ** 20n)
  assert.deepEqual(out[10], { x: 1, y: 2 })
  assert.deepEqual(out[12], wide)
  assert.deepEqual(out[14], long)
  assert.deepEqual(out[16], deep)
  // An own key named __proto__ must stay a key, not become the prototype.
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>
  const [back] = roundTrip(untimed([proto])) as [Record<string, unknown>]
  assert.equal(Object.getPrototypeOf(back), Object.prototype)
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('the encoded bytes are a plain Uint8Array whose slice() is a copy, as the links expect', () => {
  const bytes = encodeBatch(untimed(['first']))
  assert.ok(!Buffer.isBuffer(bytes))
  const copy = bytes.slice()
  encodeBatch(untimed(['second, longer']))
  assert.deepEqual(decodeBatch(copy), untimed(['first']))
})

test('timestamps ride with their records and watermarks keep their place among them', () => {
  const pairs = [['a', 1], 1000, 999.5, WATERMARK_TAG, ['b', 2], NO_TIMESTAMP, -5, WATERMARK_TAG, 'c', -1e15, Infinity, WATERMARK_TAG]
  assert.deepEqual(roundTrip(pairs), pairs)
  assert.deepEqual(roundTrip([]), [])
})

test('a record that cannot be serialized fails with WEIR_SERIALIZATION_FAILED, and the next batch encodes normally', () => {
  assert.throws(() => encodeBatch(untimed([['ok', 1], Symbol('nope')])), (e: unknown) => isWeirError(e) && e.code === 'WEIR_SERIALIZATION_FAILED')
  assert.deepEqual(roundTrip(untimed([['fine', 2]])), untimed([['fine', 2]]))
})

test('malformed batches are refused with WEIR_NETWORK_FRAME_INVALID: every truncation, a wrong format byte, unknown types, trailing bytes, lying counts', () => {
  const good = encodeBatch([['word', 1], NO_TIMESTAMP, ['ünïcödé', 2.5, [null, true]], 5, 'x'.repeat(100), NO_TIMESTAMP, 7, WATERMARK_TAG, -3, NO_TIMESTAMP]).slice()
  assert.equal(good[0], BATCH_PRIMITIVE)
  for (let n = 0; n < good.length; n++) assertRefused(good.subarray(0, n), `truncated to ${n} bytes`)
  const packed = encodeBatch([{ a: 1, b: 'x' }, 5, new Map([[1, 2]]), NO_TIMESTAMP]).slice()
  assert.equal(packed[0], BATCH_MSGPACK)
  for (let n = 0; n < packed.length; n++) assertRefused(packed.subarray(0, n), `the msgpack batch truncated to ${n} bytes`)
  assertRefused(Uint8Array.from([BATCH_MSGPACK, 0xc0]), 'a msgpack document that is not a list of pairs')
  const wrongFormat = good.slice()
  wrongFormat[0] = 0x42
  assertRefused(wrongFormat, 'another format byte')
  const trailing = new Uint8Array(good.length + 1)
  trailing.set(good)
  assertRefused(trailing, 'a byte after the last record')
  const lyingCount = good.slice()
  new DataView(lyingCount.buffer).setUint32(1, 0xffffffff, true)
  assertRefused(lyingCount, 'a count of four billion records')
  assertRefused(Uint8Array.from([BATCH_PRIMITIVE, 1, 0, 0, 0, 0, 99]), 'an unknown value type')
  assertRefused(Uint8Array.from([BATCH_PRIMITIVE, 1, 0, 0, 0, 7, 1, 0]), 'an unknown timestamp kind')
})

test('random corruption of batches either decodes or is refused with a typed error, never anything else', () => {
  const seed = Number(process.env.WEIR_TEST_SEED ?? 20261201)
  const random = new SeededRandom(seed)
  const primitive = encodeBatch(untimed([['the', 1], ['quick', 2], 'plain', 3.25, [null, true, undefined], ['ünï', -7]])).slice()
  const packed = encodeBatch(untimed([{ word: 'brown', count: 3 }, { word: 'fox', count: 4 }, new Set(['s'])])).slice()
  for (let round = 0; round < 2000; round++) {
    const bytes = (round % 2 === 0 ? primitive : packed).slice()
    const flips = random.int(1, 4)
    for (let f = 0; f < flips; f++) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255)
    try {
      decodeBatch(bytes)
    } catch (e) {
      assert.ok(isWeirError(e) && e.code === 'WEIR_NETWORK_FRAME_INVALID', `seed ${seed}, round ${round}: ${String(e)}`)
    }
  }
})
