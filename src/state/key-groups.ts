// Key-group math, pure and static: which key group a key falls in, which subtask owns a key
// group, and which contiguous range of key groups a subtask owns. The formulas are Flink's
// (KeyGroupRangeAssignment), and keys hash like Java's hashCode for strings, numbers and
// booleans, and arrays like Flink's tuples, so a string, int or composite key lands in the same
// key group as it would in Flink.

import { UserError } from '../errors.ts'

/** Flink's upper bound for max parallelism (2^15). */
export const UPPER_BOUND_MAX_PARALLELISM = 1 << 15

/** Inclusive range of key groups [start, end]; empty when end < start. */
export interface KeyGroupRange {
  readonly start: number
  readonly end: number
}

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1], over UTF-16 code units, in int32. */
export function javaStringHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h
}

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

/**
 * Java-compatible hash codes: int32 numbers hash like Integer, other safe integers like Long,
 * other numbers like Double, booleans like Boolean, strings like String, arrays like Flink's
 * TupleN (the first field's hash, then 31 * h + field; a composite key in Flink is a tuple, and
 * Java's List.hashCode would start at 1 instead and put the key in another key group). Other
 * objects hash their JSON text, so equal plain objects hash equally.
 */
export function javaHashCode(key: unknown): number {
  switch (typeof key) {
    case 'string':
      return javaStringHash(key)
    case 'number':
      if (Number.isInteger(key)) {
        if (key >= -2147483648 && key <= 2147483647) return key | 0
        if (Number.isSafeInteger(key)) return longHash(BigInt(key))
      }
      f64[0] = key === 0 ? 0 : Number.isNaN(key) ? NaN : key
      return (u32[0]! ^ u32[1]!) | 0
    case 'bigint':
      return longHash(key)
    case 'boolean':
      return key ? 1231 : 1237
    case 'object': {
      if (key === null) return 0
      if (Array.isArray(key)) {
        let h = 0 // Tuple0 hashes to 0; TupleN: f0.hashCode(), then 31 * h + fi.hashCode()
        for (const element of key) h = (Math.imul(h, 31) + javaHashCode(element)) | 0
        return h
      }
      return javaStringHash(JSON.stringify(key))
    }
    default:
      throw new UserError('WEIR_INVALID_ARGUMENT', `a key must be a string, number, bigint, boolean, array or plain object, got ${typeof key}`)
  }
}

function longHash(value: bigint): number {
  const v = BigInt.asUintN(64, value)
  return Number(BigInt.asIntN(32, (v ^ (v >> 32n)) & 0xffffffffn))
}

/** Flink's MathUtils.murmurHash(int): one murmur3 round over the 32-bit code, made non-negative. */
export function murmurHash(code: number): number {
  let h = Math.imul(code | 0, 0xcc9e2d51)
  h = (h << 15) | (h >>> 17)
  h = Math.imul(h, 0x1b873593)
  h = (h << 13) | (h >>> 19)
  h = (Math.imul(h, 5) + 0xe6546b64) | 0
  h ^= 4
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  if (h >= 0) return h
  if (h !== -2147483648) return -h
  return 0
}

/** The key group of a key: murmurHash(hashCode(key)) % maxParallelism. */
export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return murmurHash(javaHashCode(key)) % maxParallelism
}

/** The subtask that owns a key group: keyGroup * parallelism / maxParallelism. */
export function operatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism)
}

/** The subtask a key goes to. */
export function assignKeyToOperator(key: unknown, maxParallelism: number, parallelism: number): number {
  return operatorIndexForKeyGroup(maxParallelism, parallelism, assignToKeyGroup(key, maxParallelism))
}

/** The contiguous key groups subtask `operatorIndex` of `parallelism` owns. */
export function keyGroupRangeForOperator(maxParallelism: number, parallelism: number, operatorIndex: number): KeyGroupRange {
  checkParallelism(maxParallelism, parallelism)
  const start = Math.floor((operatorIndex * maxParallelism + parallelism - 1) / parallelism)
  const end = Math.floor(((operatorIndex + 1) * maxParallelism - 1) / parallelism)
  return { start, end }
}

/** Flink's default max parallelism for an operator of this parallelism: 1.5 p rounded up to a power of two, within [128, 32768]. */
export function defaultMaxParallelism(parallelism: number): number {
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `operator parallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${parallelism}`)
  }
  const wanted = parallelism + Math.floor(parallelism / 2)
  let pow = 1
  while (pow < wanted) pow *= 2
  return Math.min(Math.max(pow, 128), UPPER_BOUND_MAX_PARALLELISM)
}

export function checkParallelism(maxParallelism: number, parallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `max parallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${maxParallelism}`)
  }
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `parallelism must be an integer in [1, max parallelism ${maxParallelism}], got ${parallelism}`)
  }
}
