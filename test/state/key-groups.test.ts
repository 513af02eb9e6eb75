import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  javaStringHash, javaHashCode, murmurHash, assignToKeyGroup, assignKeyToOperator, operatorIndexForKeyGroup,
  keyGroupRangeForOperator, defaultMaxParallelism, checkParallelism, UPPER_BOUND_MAX_PARALLELISM,
} from '../../src/state/key-groups.ts'
import { UserError } from '../../src/errors.ts'

// ---------------------------------------------------------------------------------------------
// An independent reference: MurmurHash3_x86_32 over a byte array with a seed, written from the
// public algorithm description with BigInt arithmetic (no Math.imul), checked against the
// published test vectors before it is used to check Weir.
// ---------------------------------------------------------------------------------------------
const M32 = 0xffffffffn
const mul = (a: bigint, b: bigint) => (a * b) & M32
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (32n - r))) & M32

function murmur3x86_32(bytes: readonly number[], seed: number): number {
  let h = BigInt(seed >>> 0)
  const c1 = 0xcc9e2d51n
  const c2 = 0x1b873593n
  const blocks = Math.floor(bytes.length / 4)
  for (let i = 0; i < blocks; i++) {
    let k = BigInt(bytes[4 * i]!) | (BigInt(bytes[4 * i + 1]!) << 8n) | (BigInt(bytes[4 * i + 2]!) << 16n) | (BigInt(bytes[4 * i + 3]!) << 24n)
    k = mul(k, c1)
    k = rotl(k, 15n)
    k = mul(k, c2)
    h ^= k
    h = rotl(h, 13n)
    h = (mul(h, 5n) + 0xe6546b64n) & M32
  }
  const tail = bytes.length & 3
  if (tail > 0) {
    let k = 0n
    for (let j = tail - 1; j >= 0; j--) k = (k << 8n) | BigInt(bytes[4 * blocks + j]!)
    k = mul(k, c1)
    k = rotl(k, 15n)
    k = mul(k, c2)
    h ^= k
  }
  h ^= BigInt(bytes.length)
  h ^= h >> 16n
  h = mul(h, 0x85ebca6bn)
  h ^= h >> 13n
  h = mul(h, 0xc2b2ae35n)
  h ^= h >> 16n
  return Number(h) // unsigned 32-bit
}

/** Flink's MathUtils.murmurHash(int): murmur3 of the int's 4 little-endian bytes, seed 0, made non-negative (MIN_VALUE -> 0). */
function referenceFlinkMurmur(code: number): number {
  const u = code >>> 0
  const bytes = [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, (u >>> 24) & 0xff]
  const unsigned = murmur3x86_32(bytes, 0)
  const signed = unsigned >= 0x80000000 ? unsigned - 0x100000000 : unsigned
  if (signed >= 0) return signed
  if (signed === -0x80000000) return 0
  return -signed
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0))

test('the reference murmur3 reproduces the published MurmurHash3_x86_32 test vectors', () => {
  assert.equal(murmur3x86_32([], 0), 0)
  assert.equal(murmur3x86_32([], 1), 0x514e28b7)
  assert.equal(murmur3x86_32([], 0xffffffff), 0x81f16f39)
  assert.equal(murmur3x86_32([0, 0, 0, 0], 0), 0x2362f9de)
  assert.equal(murmur3x86_32([0xff, 0xff, 0xff, 0xff], 0), 0x76293b50)
  assert.equal(murmur3x86_32([0x21, 0x43, 0x65, 0x87], 0), 0xf55b516b)
  assert.equal(murmur3x86_32([0x21, 0x43, 0x65, 0x87], 0x5082edee), 0x2362f9de)
  assert.equal(murmur3x86_32([0x21, 0x43, 0x65], 0), 0x7e4a8634)
  assert.equal(murmur3x86_32(ascii('aaaa'), 0x9747b28c), 0x5a97808a)
  assert.equal(murmur3x86_32(ascii('abcd'), 0x9747b28c), 0xf0478627)
  assert.equal(murmur3x86_32(ascii('Hello, world!'), 0x9747b28c), 0x24884cba)
})

test('murmurHash of an int equals murmur3 of its four little-endian bytes with seed 0, made non-negative', () => {
  // Published vectors for 4-byte inputs, seed 0.
  assert.equal(murmurHash(0), 0x2362f9de)
  assert.equal(murmurHash(-1), 0x76293b50)
  // bytes 21 43 65 87 are the int 0x87654321; its hash 0xf55b516b is negative as an int, so it is negated.
  assert.equal(murmurHash(0x87654321 | 0), 0x100000000 - 0xf55b516b)
})

test('murmurHash agrees with the reference for edge values and 20000 pseudo-random ints', () => {
  const edge = [0, 1, -1, 2, 97, 2112, 99162322, 0x7fffffff, -0x80000000, 1231, 1237, 0x55555555, -0x55555556]
  for (const code of edge) assert.equal(murmurHash(code), referenceFlinkMurmur(code), `code ${code}`)
  const seed = 0x5eed1234
  let x = seed
  for (let i = 0; i < 20000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0 // LCG
    const code = x ^ (x >>> 7)
    assert.equal(murmurHash(code), referenceFlinkMurmur(code), `code ${code} (PRNG seed ${seed}, step ${i})`)
  }
})

test('murmurHash is never negative and below 2^31', () => {
  for (let code = -100000; code <= 100000; code += 7) {
    const h = murmurHash(code)
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0x7fffffff, `murmurHash(${code}) = ${h}`)
  }
})

test('javaStringHash matches known Java String.hashCode values', () => {
  assert.equal(javaStringHash(''), 0)
  assert.equal(javaStringHash('a'), 97)
  assert.equal(javaStringHash('abc'), 96354) // 97*31^2 + 98*31 + 99
  assert.equal(javaStringHash('hello'), 99162322)
  assert.equal(javaStringHash('Aa'), 2112)
  assert.equal(javaStringHash('BB'), 2112)
  // A well-known string whose hashCode is Integer.MIN_VALUE.
  assert.equal(javaStringHash('polygenelubricants'), -2147483648)
  // UTF-16 code units, as in Java: 'é' is one unit (233), '😀' is two surrogates 0xD83D 0xDE00.
  assert.equal(javaStringHash('é'), 233)
  assert.equal(javaStringHash('😀'), 0xd83d * 31 + 0xde00)
})

test('javaHashCode hashes strings like String.hashCode', () => {
  assert.equal(javaHashCode('hello'), 99162322)
  assert.equal(javaHashCode('Aa'), javaHashCode('BB'))
})

test('javaHashCode hashes int32 numbers like Integer.hashCode (the value itself)', () => {
  for (const n of [0, 1, 42, -1, -5, 2147483647, -2147483648]) assert.equal(javaHashCode(n), n)
  assert.equal(javaHashCode(-0), 0)
})

test('javaHashCode hashes larger safe integers and bigints like Long.hashCode', () => {
  // Long.hashCode(v) = (int)(v ^ (v >>> 32)), derived by hand:
  assert.equal(javaHashCode(2 ** 32), 1) // 0x1_00000000 -> 0x00000001
  assert.equal(javaHashCode(2 ** 31), -2147483648) // 0x80000000 as an int
  assert.equal(javaHashCode(-(2 ** 32)), -1) // 0xFFFFFFFF_00000000 ^ 0x00000000_FFFFFFFF
  assert.equal(javaHashCode(Number.MAX_SAFE_INTEGER), -2097152) // 0xFFFFFFFF ^ 0x001FFFFF = 0xFFE00000
  assert.equal(javaHashCode(10n), 10)
  assert.equal(javaHashCode(-1n), 0) // 0xFFFF...FF ^ 0x00000000FFFFFFFF = 0xFFFFFFFF00000000 -> low int 0
  assert.equal(javaHashCode(2n ** 32n), 1)
  assert.equal(javaHashCode(BigInt(Number.MAX_SAFE_INTEGER)), javaHashCode(Number.MAX_SAFE_INTEGER))
})

test('javaHashCode hashes non-integral numbers like Double.hashCode', () => {
  assert.equal(javaHashCode(1.5), 1073217536) // bits 0x3FF80000_00000000
  assert.equal(javaHashCode(-2.5), -1073479680) // bits 0xC0040000_00000000
  assert.equal(javaHashCode(0.1), -1507852285) // bits 0x3FB99999_9999999A: 0x3FB99999 ^ 0x9999999A = 0xA6200003
  assert.equal(javaHashCode(NaN), 2146959360) // canonical NaN 0x7FF80000_00000000
  assert.equal(javaHashCode(Infinity), 2146435072) // 0x7FF00000_00000000
})

test('javaHashCode hashes booleans like Boolean.hashCode and null as 0', () => {
  assert.equal(javaHashCode(true), 1231)
  assert.equal(javaHashCode(false), 1237)
  assert.equal(javaHashCode(null), 0)
})

test('javaHashCode hashes arrays like Flink TupleN.hashCode: f0, then 31 * h + fi (not List.hashCode, which starts at 1)', () => {
  // Tuple2.of("a", "b").hashCode() = 31 * "a".hashCode() + "b".hashCode() = 31 * 97 + 98.
  assert.equal(javaHashCode(['a', 'b']), 3105)
  assert.equal(javaHashCode([]), 0) // Tuple0
  assert.equal(javaHashCode(['hello']), 99162322) // Tuple1: the field's own hash
  assert.equal(javaHashCode([1, 2]), 31 * 1 + 2)
  assert.equal(javaHashCode(['a', 1]), 31 * 97 + 1)
  assert.equal(javaHashCode([[1]]), 1) // Tuple1(Tuple1(1))
  assert.equal(javaHashCode([null, 'b']), 98) // a null field counts as 0
  // Overflow wraps like Java int arithmetic.
  const big = ['hello', 'hello', 'hello', 'hello']
  let h = 0
  for (let i = 0; i < 4; i++) h = Number(BigInt.asIntN(32, BigInt(h) * 31n + 99162322n))
  assert.equal(javaHashCode(big), h)
})

test('a two-element array key lands in the key group of the Flink Tuple2 with the same fields', () => {
  // Flink: KeyGroupRangeAssignment.assignToKeyGroup(Tuple2.of("a", "b"), 128) = murmurHash(3105) % 128.
  for (const maxP of [128, 256, 32768]) assert.equal(assignToKeyGroup(['a', 'b'], maxP), murmurHash(3105) % maxP)
})

test('javaHashCode hashes equal plain objects equally, as their JSON text', () => {
  assert.equal(javaHashCode({ a: 1, b: 'x' }), javaHashCode({ a: 1, b: 'x' }))
  assert.equal(javaHashCode({ a: 1 }), javaStringHash('{"a":1}'))
  assert.notEqual(javaHashCode({ a: 1 }), javaHashCode({ a: 2 }))
})

test('javaHashCode rejects undefined, functions and symbols with a UserError', () => {
  for (const bad of [undefined, () => 1, Symbol('s')]) {
    assert.throws(() => javaHashCode(bad), (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_ARGUMENT' && /a key must be/.test(e.message))
  }
})

test('assignToKeyGroup is murmurHash(hashCode) modulo max parallelism', () => {
  for (const key of ['hello', '', 'a', 42, -7, 1.5, true, ['x', 1], 2 ** 40]) {
    for (const maxP of [1, 2, 10, 128, 1000, 32768]) {
      const expected = referenceFlinkMurmur(javaHashCode(key)) % maxP
      assert.equal(assignToKeyGroup(key, maxP), expected, `key ${JSON.stringify(key)} maxP ${maxP}`)
    }
  }
  // Keys with equal Java hash codes share a key group.
  assert.equal(assignToKeyGroup('Aa', 128), assignToKeyGroup('BB', 128))
  // A string and the int with the same hash code land together, as in Flink.
  assert.equal(assignToKeyGroup('a', 128), assignToKeyGroup(97, 128))
})

test('keyGroupRangeForOperator covers every key group exactly once, in order, for many (maxParallelism, parallelism) pairs', () => {
  const maxPs = [1, 2, 3, 7, 10, 100, 127, 128, 129, 1000, 4096, 32768]
  for (const maxP of maxPs) {
    const ps = new Set([1, 2, 3, 5, 7, 13, 64, 127, 128, maxP - 1, maxP].filter((p) => p >= 1 && p <= maxP))
    for (const p of ps) {
      let next = 0
      for (let i = 0; i < p; i++) {
        const r = keyGroupRangeForOperator(maxP, p, i)
        assert.equal(r.start, next, `maxP ${maxP} p ${p} subtask ${i} starts where the previous range ended`)
        assert.ok(r.end >= r.start, `maxP ${maxP} p ${p} subtask ${i} owns at least one key group`)
        // Balanced: sizes differ by at most one.
        const size = r.end - r.start + 1
        assert.ok(size === Math.floor(maxP / p) || size === Math.ceil(maxP / p), `maxP ${maxP} p ${p} subtask ${i} size ${size}`)
        next = r.end + 1
      }
      assert.equal(next, maxP, `maxP ${maxP} p ${p}: the ranges end at the last key group`)
    }
  }
})

test('operatorIndexForKeyGroup agrees with the ranges', () => {
  for (const [maxP, p] of [[128, 1], [128, 3], [128, 128], [10, 3], [1000, 7], [32768, 100], [129, 128]] as const) {
    for (let i = 0; i < p; i++) {
      const r = keyGroupRangeForOperator(maxP, p, i)
      for (let kg = r.start; kg <= r.end; kg++) assert.equal(operatorIndexForKeyGroup(maxP, p, kg), i, `maxP ${maxP} p ${p} key group ${kg}`)
    }
  }
})

test('keyGroupRangeForOperator gives the Flink ranges for small examples', () => {
  assert.deepEqual(keyGroupRangeForOperator(10, 3, 0), { start: 0, end: 3 })
  assert.deepEqual(keyGroupRangeForOperator(10, 3, 1), { start: 4, end: 6 })
  assert.deepEqual(keyGroupRangeForOperator(10, 3, 2), { start: 7, end: 9 })
  assert.deepEqual(keyGroupRangeForOperator(4096, 1, 0), { start: 0, end: 4095 })
  assert.deepEqual(keyGroupRangeForOperator(4096, 2, 1), { start: 2048, end: 4095 })
})

test('assignKeyToOperator sends a key to the subtask whose range holds its key group', () => {
  for (const key of ['hello', 'world', 1, 2, 3, 99, true, [1, 'a']]) {
    for (const [maxP, p] of [[128, 4], [1000, 7], [32768, 3]] as const) {
      const idx = assignKeyToOperator(key, maxP, p)
      const kg = assignToKeyGroup(key, maxP)
      const r = keyGroupRangeForOperator(maxP, p, idx)
      assert.ok(kg >= r.start && kg <= r.end, `key ${JSON.stringify(key)} kg ${kg} not in subtask ${idx}'s range`)
    }
  }
})

test('defaultMaxParallelism rounds 1.5 p up to a power of two within [128, 32768]', () => {
  assert.equal(defaultMaxParallelism(1), 128)
  assert.equal(defaultMaxParallelism(4), 128)
  assert.equal(defaultMaxParallelism(85), 128) // 85 + 42 = 127
  assert.equal(defaultMaxParallelism(86), 256) // 86 + 43 = 129
  assert.equal(defaultMaxParallelism(128), 256) // 192
  assert.equal(defaultMaxParallelism(171), 256) // 256 exactly
  assert.equal(defaultMaxParallelism(172), 512) // 258
  assert.equal(defaultMaxParallelism(1000), 2048) // 1500
  assert.equal(defaultMaxParallelism(21845), 32768) // 32767
  assert.equal(defaultMaxParallelism(30000), 32768) // 45000 would round to 65536
  assert.equal(UPPER_BOUND_MAX_PARALLELISM, 32768)
})

test('checkParallelism rejects bad max parallelism and parallelism with messages that give the bounds and the value', () => {
  const fails = (maxP: number, p: number, re: RegExp) =>
    assert.throws(() => checkParallelism(maxP, p), (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_ARGUMENT' && re.test(e.message), `(${maxP}, ${p})`)
  fails(0, 1, /max parallelism must be an integer in \[1, 32768\], got 0/)
  fails(32769, 1, /max parallelism .*got 32769/)
  fails(1.5, 1, /max parallelism .*got 1\.5/)
  fails(128, 0, /parallelism must be an integer in \[1, max parallelism 128\], got 0/)
  fails(128, 129, /parallelism .*max parallelism 128.*got 129/)
  fails(128, 2.5, /got 2\.5/)
  assert.doesNotThrow(() => checkParallelism(1, 1))
  assert.doesNotThrow(() => checkParallelism(32768, 32768))
  assert.throws(() => keyGroupRangeForOperator(4, 5, 0), /parallelism/)
})

test('defaultMaxParallelism rejects a parallelism of 0 or above 32768, as Flink does', () => {
  for (const bad of [0, -1, 32769, 1.5]) {
    assert.throws(() => defaultMaxParallelism(bad), (e: unknown) => e instanceof UserError && /operator parallelism must be an integer in \[1, 32768\], got/.test(e.message), String(bad))
  }
  assert.equal(defaultMaxParallelism(32768), 32768)
  assert.equal(defaultMaxParallelism(1), 128)
})
