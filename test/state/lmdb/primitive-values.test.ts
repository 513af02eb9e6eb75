import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Unpackr } from 'msgpackr'
import { primitiveBytes, writePrimitive } from '../../../src/state/lmdb/primitive-values.ts'

const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

test('primitives are written as MessagePack that msgpackr reads back as the same value', () => {
  const values: unknown[] = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
    1.5, -0.25, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE,
    '', 'abc', 'é', '😀', '\ud800', 'x'.repeat(85), '€'.repeat(85), 'x'.repeat(3000), '€'.repeat(30_000),
    true, false, null,
  ]
  const buf = Buffer.alloc(100_000)
  for (const v of values) {
    const end = writePrimitive(buf, 7, v as number | string | boolean | null)
    assert.ok(end > 7 && end - 7 <= primitiveBytes(v), `${String(v).slice(0, 20)}: ${end - 7} bytes`)
    const back = unpackr.unpack(buf.subarray(7, end))
    if (typeof v === 'string' && v === '\ud800') assert.equal(back, '\ufffd', 'a lone surrogate as UTF-8 replaces it, as msgpackr does')
    else assert.ok(Object.is(back, v), `${String(v).slice(0, 20)} came back as ${String(back).slice(0, 20)}`)
  }
  assert.equal(unpackr.unpack(buf.subarray(0, writePrimitive(buf, 0, -0))), 0, '-0 as 0, as msgpackr packs it')
})

test('other values are left to the caller: primitiveBytes says so', () => {
  for (const v of [{}, [1], undefined, 1n, Symbol('s'), new Map()]) {
    assert.equal(primitiveBytes(v), -1, `${typeof v} is not written here`)
  }
})
