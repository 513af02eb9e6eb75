import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Packr, Unpackr } from 'msgpackr'
import { packTransient } from '../../src/io/transient-pack.ts'

const packr = new Packr({ useRecords: false, moreTypes: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

test('values packed one after another all start at the same place in one buffer, and decode to themselves', () => {
  const first = packTransient(packr, ['word', 1])
  assert.deepEqual(unpackr.unpack(Buffer.from(first)), ['word', 1])
  const buffer = first.buffer
  for (let i = 0; i < 10_000; i++) {
    const v = { key: `k${i}`, n: i, text: 'x'.repeat(i % 300) }
    const bytes = packTransient(packr, v)
    assert.equal(bytes.buffer, buffer, `value ${i} went to another buffer`)
    assert.equal(bytes.byteOffset, first.byteOffset)
    assert.deepEqual(unpackr.unpack(Buffer.from(bytes)), v)
  }
})

test('a value larger than the buffer is packed whole, and the larger buffer is kept for the next values', () => {
  const big = 'y'.repeat(200_000)
  const bytes = packTransient(packr, big)
  assert.equal(unpackr.unpack(Buffer.from(bytes)), big)
  const next = packTransient(packr, 42)
  assert.equal(next.buffer, bytes.buffer)
  assert.equal(unpackr.unpack(Buffer.from(next)), 42)
})
