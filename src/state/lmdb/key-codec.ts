// The byte form of user keys and map keys inside LMDB keys: deterministic (equal keys, equal
// bytes) and self-delimiting (no key's bytes are a prefix of another's), so that a user key's
// bytes followed by a map key's bytes can be split again and a range scan over one user key's
// prefix never reaches another user key. It is MessagePack for primitives, written with minimal
// headers only; composite keys (arrays, objects) are identified by their JSON text, as the heap
// backend does, behind a tag byte (0xc1, unused by MessagePack) so that they never collide with
// a string key holding the same text.

import { UserError } from '../../errors.ts'

const COMPOSITE = 0xc1
const BIGINT_EXT = 0x01
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Why a key could not be encoded: unsupported type. */
function unsupported(key: unknown): UserError {
  return new UserError('WEIR_INVALID_ARGUMENT', `a key must be a string, number, bigint, boolean, null, array or plain object, got ${typeof key}`)
}

/**
 * Writes `key` at `pos` and returns the end position. `target` must have room for
 * `maxKeyBytes(key)` bytes from `pos`.
 */
export function encodeKey(key: unknown, target: Buffer, pos: number): number {
  switch (typeof key) {
    case 'string':
      return writeString(key, target, pos)
    case 'number':
      return writeNumber(key, target, pos)
    case 'boolean':
      target[pos] = key ? 0xc3 : 0xc2
      return pos + 1
    case 'bigint':
      if (key >= INT64_MIN && key <= INT64_MAX) {
        target[pos] = 0xd3
        target.writeBigInt64BE(key, pos + 1)
        return pos + 9
      } else {
        const digits = key.toString()
        if (digits.length > 255) throw new UserError('WEIR_INVALID_ARGUMENT', `a bigint key has ${digits.length} digits; the lmdb state backend stores keys of at most 255 digits`)
        target[pos] = 0xc7
        target[pos + 1] = digits.length
        target[pos + 2] = BIGINT_EXT
        return pos + 3 + target.write(digits, pos + 3, 'latin1')
      }
    case 'object':
      if (key === null) {
        target[pos] = 0xc0
        return pos + 1
      }
      target[pos] = COMPOSITE
      return writeString(JSON.stringify(key), target, pos + 1)
    default:
      throw unsupported(key)
  }
}

/** An upper bound of the encoded size of `key` (composite keys: of their JSON text `text`). */
export function maxKeyBytes(key: unknown, text?: string): number {
  if (typeof key === 'string') return 5 + key.length * 3
  if (typeof key === 'object' && key !== null) return 6 + (text ?? JSON.stringify(key)).length * 3
  return 260
}

/** Writes a composite key from its JSON text (the heap backend's identity of composite keys). */
export function encodeCompositeText(text: string, target: Buffer, pos: number): number {
  target[pos] = COMPOSITE
  return writeString(text, target, pos + 1)
}

/** A string as MessagePack with its minimal header; `target` needs room for 5 + 3 × its length bytes. */
function writeString(s: string, target: Buffer, pos: number): number {
  const length = s.length
  if (length < 32) {
    // Short ASCII (most keys and words) is copied by hand, behind a one-byte header: Buffer#write
    // is a call into C++ per string, several times the cost of the copy.
    let i = 0
    for (; i < length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      target[pos + 1 + i] = c
    }
    if (i === length) {
      target[pos] = 0xa0 | length
      return pos + 1 + length
    }
  }
  // Reserve the largest header the string can need, write, then move the bytes if the header
  // turns out shorter: the header is always the minimal one, so equal strings give equal bytes.
  const max = s.length * 3
  const reserve = max < 32 ? 1 : max < 256 ? 2 : max < 65536 ? 3 : 5
  const n = s.length === 0 ? 0 : target.write(s, pos + reserve, 'utf8')
  const header = n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5
  if (header !== reserve) target.copyWithin(pos + header, pos + reserve, pos + reserve + n)
  if (header === 1) target[pos] = 0xa0 | n
  else if (header === 2) {
    target[pos] = 0xd9
    target[pos + 1] = n
  } else if (header === 3) {
    target[pos] = 0xda
    target.writeUInt16BE(n, pos + 1)
  } else {
    target[pos] = 0xdb
    target.writeUInt32BE(n, pos + 1)
  }
  return pos + header + n
}

/** A number as MessagePack: int32 values in their smallest integer form, others as float64. */
function writeNumber(n: number, target: Buffer, pos: number): number {
  if ((n | 0) === n) {
    // int32, and -0 (which equals 0 as a Map key) lands here as 0.
    if (n >= 0) {
      if (n < 128) {
        target[pos] = n
        return pos + 1
      }
      if (n < 256) {
        target[pos] = 0xcc
        target[pos + 1] = n
        return pos + 2
      }
      if (n < 65536) {
        target[pos] = 0xcd
        target[pos + 1] = n >>> 8
        target[pos + 2] = n & 0xff
        return pos + 3
      }
      target[pos] = 0xce
      writeInt32(n, target, pos + 1)
      return pos + 5
    }
    if (n >= -32) {
      target[pos] = n & 0xff
      return pos + 1
    }
    if (n >= -128) {
      target[pos] = 0xd0
      target[pos + 1] = n & 0xff
      return pos + 2
    }
    if (n >= -32768) {
      target[pos] = 0xd1
      target[pos + 1] = (n >> 8) & 0xff
      target[pos + 2] = n & 0xff
      return pos + 3
    }
    target[pos] = 0xd2
    writeInt32(n, target, pos + 1)
    return pos + 5
  }
  target[pos] = 0xcb
  target.writeDoubleBE(n, pos + 1)
  return pos + 9
}

/**
 * The four bytes of a 32-bit integer, big-endian, by hand: Buffer's writeUInt32BE and
 * writeInt32BE check their arguments on every call, which cost more than the write for the
 * millions of keys a checkpoint writes (the caller has checked the value's range).
 */
function writeInt32(n: number, target: Buffer, pos: number): void {
  target[pos] = (n >>> 24) & 0xff
  target[pos + 1] = (n >>> 16) & 0xff
  target[pos + 2] = (n >>> 8) & 0xff
  target[pos + 3] = n & 0xff
}

/** The end position of the last decodeKey call. */
export let decodedEnd = 0

/** Reads the key at `pos` (composite keys come back parsed from their JSON text). */
export function decodeKey(src: Uint8Array, pos: number): unknown {
  const b = src[pos]!
  const buf = src as Buffer
  if (b < 0x80) {
    decodedEnd = pos + 1
    return b
  }
  if (b >= 0xe0) {
    decodedEnd = pos + 1
    return b - 256
  }
  if ((b & 0xe0) === 0xa0) return readString(buf, pos + 1, b & 0x1f)
  switch (b) {
    case 0xd9:
      return readString(buf, pos + 2, buf[pos + 1]!)
    case 0xda:
      return readString(buf, pos + 3, buf.readUInt16BE(pos + 1))
    case 0xdb:
      return readString(buf, pos + 5, buf.readUInt32BE(pos + 1))
    case 0xcc:
      decodedEnd = pos + 2
      return buf[pos + 1]
    case 0xcd:
      decodedEnd = pos + 3
      return buf.readUInt16BE(pos + 1)
    case 0xce:
      decodedEnd = pos + 5
      return buf.readUInt32BE(pos + 1)
    case 0xd0:
      decodedEnd = pos + 2
      return buf.readInt8(pos + 1)
    case 0xd1:
      decodedEnd = pos + 3
      return buf.readInt16BE(pos + 1)
    case 0xd2:
      decodedEnd = pos + 5
      return buf.readInt32BE(pos + 1)
    case 0xcb:
      decodedEnd = pos + 9
      return buf.readDoubleBE(pos + 1)
    case 0xd3:
      decodedEnd = pos + 9
      return buf.readBigInt64BE(pos + 1)
    case 0xc7: {
      const len = buf[pos + 1]!
      decodedEnd = pos + 3 + len
      return BigInt(buf.toString('latin1', pos + 3, pos + 3 + len))
    }
    case 0xc2:
      decodedEnd = pos + 1
      return false
    case 0xc3:
      decodedEnd = pos + 1
      return true
    case 0xc0:
      decodedEnd = pos + 1
      return null
    case COMPOSITE: {
      const text = decodeKey(src, pos + 1) as string
      return JSON.parse(text)
    }
  }
  throw new Error(`corrupt key byte 0x${b.toString(16)} at ${pos}`)
}

/** Like decodeKey, but a composite key comes back as its JSON text; `decodedComposite` says which. */
export let decodedComposite = false
export function decodeKeyText(src: Uint8Array, pos: number): unknown {
  if (src[pos] === COMPOSITE) {
    const text = decodeKey(src, pos + 1)
    decodedComposite = true
    return text
  }
  decodedComposite = false
  return decodeKey(src, pos)
}

function readString(buf: Buffer, start: number, n: number): string {
  decodedEnd = start + n
  return buf.toString('utf8', start, start + n)
}
