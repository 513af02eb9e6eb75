import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Unpackr } from 'msgpackr'
import { MAX_PRIMITIVE_BYTES, writePrimitive } from '../../../src/state/lmdb/primitive-values.ts'

const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

test('primitives are written as MessagePack that msgpackr reads back as the same value', () => {
  const values: unknown[] = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
    1.5, -0.25, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE,
    '', 'abc', 'é', '😀', '\ud800', 'x'.repeat(85), '€'.repeat(85),
    true, false, null,
  ]
  const buf = Buffer.alloc(1024)
  for (const v of values) {
    const end = writePrimitive(buf, 7, v)
    assert.ok(end > 7 && end - 7 <= MAX_PRIMITIVE_BYTES, `${String(v)}: ${end - 7} bytes`)
    const back = unpackr.unpack(buf.subarray(7, end))
    if (typeof v === 'string' && v === '\ud800') assert.equal(back, '\ufffd', 'a lone surrogate as UTF-8 replaces it, as msgpackr does')
    else assert.ok(Object.is(back, v), `${String(v)} came back as ${String(back)}`)
  }
  assert.equal(unpackr.unpack(buf.subarray(0, writePrimitive(buf, 0, -0))), 0, '-0 as 0, as msgpackr packs it')
})

test('other values are left to the caller, and nothing is written for them', () => {
  const buf = Buffer.alloc(64, 0xaa)
  for (const v of ['x'.repeat(86), {}, [1], undefined, 1n, Symbol('s'), new Map()]) {
    assert.equal(writePrimitive(buf, 0, v), -1, `${typeof v} is not written here`)
  }
  assert.ok(buf.every((b) => b === 0xaa))
})
