import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeKey, decodeKey, decodedEnd } from '../../../src/state/lmdb/key-codec.ts'
import { Packr, Unpackr } from 'msgpackr'

const KEYS: unknown[] = [
  0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 40), 0.5, -1.25, NaN, Infinity,
  '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'ü€😀', '[1,2]',
  true, false, null, 0n, -5n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 100n, -(2n ** 70n),
  [1, 'a'], { user: 'u', n: 2 }, [], {},
]

const bytes = (k: unknown) => {
  const buf = Buffer.alloc(4096)
  return Buffer.from(buf.subarray(0, encodeKey(k, buf, 0)))
}

test('keys round-trip, and their byte forms are all different', () => {
  const seen = new Map<string, unknown>()
  for (const k of KEYS) {
    const b = bytes(k)
    assert.deepEqual(decodeKey(b, 0), k)
    assert.equal(decodedEnd, b.length)
    const hex = b.toString('hex')
    assert.ok(!seen.has(hex), `${String(k)} encodes like ${String(seen.get(hex))}`)
    seen.set(hex, k)
  }
})

test('no key is a prefix of another: a user key followed by a map key splits again', () => {
  for (const a of KEYS) {
    for (const b of KEYS) {
      const joined = Buffer.concat([bytes(a), bytes(b)])
      assert.deepEqual(decodeKey(joined, 0), a)
      assert.deepEqual(decodeKey(joined, decodedEnd), b)
      assert.equal(decodedEnd, joined.length)
    }
  }
})

test('equal keys give equal bytes; -0 is 0 (as for Map keys)', () => {
  assert.deepEqual(bytes(-0), bytes(0))
  assert.deepEqual(bytes([1, { a: 'x' }]), bytes([1, { a: 'x' }]))
  assert.deepEqual(bytes('ü'.normalize()), bytes('ü'.normalize()))
})

test('primitives are standard MessagePack with minimal headers', () => {
  const unpackr = new Unpackr({ useRecords: false, int64AsType: 'bigint' } as ConstructorParameters<typeof Unpackr>[0])
  for (const k of ['', 'abc', 'x'.repeat(40), 1, 300, -20, -3000, 0.5, true, null, 5n]) assert.deepEqual(unpackr.unpack(bytes(k)), k)
  assert.equal(bytes('x'.repeat(31)).length, 32)
  assert.equal(bytes('€'.repeat(20)).length, 62, '60 UTF-8 bytes: a str8 header even though 20 characters would fit a fixstr')
})

test('strings encode as MessagePack with their minimal header, short ASCII and anything else alike', () => {
  const standard = new Packr({ useRecords: false })
  const buf = Buffer.alloc(512)
  for (let n = 0; n <= 40; n++) {
    for (const s of ['a'.repeat(n), `${'b'.repeat(n)}é`, `${'c'.repeat(n)}\u{1F600}`, `${'d'.repeat(n)}\x7f`]) {
      const end = encodeKey(s, buf, 3)
      assert.deepEqual(buf.subarray(3, end), standard.pack(s), JSON.stringify(s))
      assert.equal(decodeKey(buf, 3), s)
    }
  }
})
