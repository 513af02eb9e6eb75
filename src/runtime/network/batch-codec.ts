// Serializes batches of records for crossing a thread or process boundary. A batch is flat
// pairs [record, timestamp, ...] (channels.ts). Most records on an exchange of a keyed job are
// primitives or tuples of them (a word count's [word, 1], a key and a sum), and for those the
// codec writes a type byte and the value's bytes itself, into one reused buffer; a batch with any
// other record (objects, Maps, Dates, BigInts, ...) is one msgpackr document instead, as every
// batch was before. For the word count's tuples this writes 30 % fewer bytes than msgpackr (an
// absent timestamp, -Infinity, is one byte instead of a 9-byte float) and encodes them faster;
// for objects msgpackr's generated record readers stay faster than anything generic, so they
// keep it. Each batch stands alone: the two sides share no state and need no handshake. Decoding
// validates every length and type against the bytes it has: malformed bytes throw a WeirError
// (WEIR_NETWORK_FRAME_INVALID) instead of yielding garbage.
//
// Layout: [u8 BATCH_PRIMITIVE] [u32 pairs] then per pair a timestamp byte (TS_NONE | TS_F64 + f64 |
// TS_WATERMARK + f64 time) and, for records, one value; or [u8 BATCH_MSGPACK] and a msgpackr
// document of the flat pairs. Multi-byte numbers are little-endian.

import { Packr, Unpackr } from 'msgpackr'
import { WeirError } from '../../errors.ts'
import { NO_TIMESTAMP, WATERMARK_TAG } from './events.ts'
import { packTransient } from '../../io/transient-pack.ts'

const packr = new Packr({ useRecords: true, moreTypes: true })
const unpackr = new Unpackr({ useRecords: true, moreTypes: true })

/** First byte of a batch the codec wrote itself; bumped when its layout changes, so a mismatch is refused, not misread. */
export const BATCH_PRIMITIVE = 0xb1
/** First byte of a batch that is a msgpackr document. */
export const BATCH_MSGPACK = 0xb0

const TS_NONE = 0
const TS_F64 = 1
const TS_WATERMARK = 2

const T_STR8 = 1
const T_STR32 = 2
const T_U8 = 3
const T_I32 = 4
const T_F64 = 5
const T_TRUE = 6
const T_FALSE = 7
const T_NULL = 8
const T_UNDEFINED = 9
const T_ARRAY = 10

/** Arrays nested deeper, or longer than a u8 count, send their batch to msgpackr. */
const MAX_DEPTH = 8
const MAX_ITEMS = 0xff
const EMPTY = Buffer.alloc(0)

/** Thrown inside the encoder when a record is not primitive: the batch goes to msgpackr. */
const NOT_PRIMITIVE = Symbol('not primitive')

class BatchEncoder {
  private buf = Buffer.allocUnsafeSlow(64 << 10)
  private pos = 0

  encode(pairs: readonly unknown[]): Uint8Array {
    try {
      this.encodePrimitive(pairs)
    } catch (e) {
      if (e !== NOT_PRIMITIVE) throw e
      this.encodePacked(pairs)
    }
    // A plain Uint8Array view, not a Buffer: links copy it with slice(), which on a Buffer would be another view of this buffer.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos)
  }

  private encodePrimitive(pairs: readonly unknown[]): void {
    this.pos = 0
    this.ensure(5)
    this.buf[0] = BATCH_PRIMITIVE
    this.buf.writeUInt32LE(pairs.length >> 1, 1)
    this.pos = 5
    const n = pairs.length
    for (let i = 0; i < n; i += 2) {
      const record = pairs[i]
      const ts = pairs[i + 1]
      this.ensure(9)
      if (ts === NO_TIMESTAMP) {
        this.buf[this.pos++] = TS_NONE
      } else if (typeof ts === 'number') {
        this.buf[this.pos] = TS_F64
        this.buf.writeDoubleLE(ts, this.pos + 1)
        this.pos += 9
      } else if (ts === WATERMARK_TAG) {
        this.buf[this.pos] = TS_WATERMARK
        this.buf.writeDoubleLE(record as number, this.pos + 1)
        this.pos += 9
        continue
      } else {
        throw new WeirError('WEIR_INTERNAL', `a batch holds a timestamp that is neither a number nor a watermark: ${String(ts)}`)
      }
      this.writeValue(record, 0)
    }
  }

  private encodePacked(pairs: readonly unknown[]): void {
    let bytes: Uint8Array
    try {
      bytes = packTransient(packr, pairs)
    } catch (cause) {
      throw new WeirError('WEIR_SERIALIZATION_FAILED', `a record could not be serialized: ${(cause as Error).message}`, { cause, domain: 'user' })
    }
    this.pos = 0
    this.ensure(1 + bytes.length)
    this.buf[0] = BATCH_MSGPACK
    this.buf.set(bytes, 1)
    this.pos = 1 + bytes.length
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + bytes) size *= 2
    const bigger = Buffer.allocUnsafeSlow(size)
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  private writeValue(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.writeString(value)
        return
      case 'number':
        this.ensure(9)
        if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
          if (value >= 0 && value <= 0xff) {
            this.buf[this.pos] = T_U8
            this.buf[this.pos + 1] = value
            this.pos += 2
          } else {
            this.buf[this.pos] = T_I32
            this.buf.writeInt32LE(value, this.pos + 1)
            this.pos += 5
          }
        } else {
          this.buf[this.pos] = T_F64
          this.buf.writeDoubleLE(value, this.pos + 1)
          this.pos += 9
        }
        return
      case 'boolean':
        this.ensure(1)
        this.buf[this.pos++] = value ? T_TRUE : T_FALSE
        return
      case 'undefined':
        this.ensure(1)
        this.buf[this.pos++] = T_UNDEFINED
        return
      case 'object':
        if (value === null) {
          this.ensure(1)
          this.buf[this.pos++] = T_NULL
          return
        }
        if (Array.isArray(value) && value.length <= MAX_ITEMS && depth < MAX_DEPTH) {
          const n = value.length
          this.ensure(2)
          this.buf[this.pos] = T_ARRAY
          this.buf[this.pos + 1] = n
          this.pos += 2
          for (let i = 0; i < n; i++) this.writeValue(value[i], depth + 1)
          return
        }
    }
    throw NOT_PRIMITIVE
  }

  private writeString(s: string): void {
    const length = s.length
    if (length < 86) {
      // At most 255 bytes of UTF-8: a one-byte length. ASCII is copied by hand (cheaper than a
      // native call for words); anything else goes through Buffer's UTF-8 writer.
      this.ensure(2 + length * 3)
      const buf = this.buf
      const start = this.pos + 2
      let i = 0
      for (; i < length; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[start + i] = c
      }
      const bytes = i === length ? length : buf.write(s, start, 'utf8')
      buf[this.pos] = T_STR8
      buf[this.pos + 1] = bytes
      this.pos = start + bytes
      return
    }
    this.ensure(5 + length * 3)
    const bytes = this.buf.write(s, this.pos + 5, 'utf8')
    this.buf[this.pos] = T_STR32
    this.buf.writeUInt32LE(bytes, this.pos + 1)
    this.pos += 5 + bytes
  }
}

const fromCharCode = String.fromCharCode

class BatchDecoder {
  private buf: Buffer = EMPTY
  private pos = 0
  private end = 0

  decode(bytes: Uint8Array): unknown[] {
    if (bytes.byteLength === 0) throw malformed('it is empty')
    if (bytes[0] === BATCH_MSGPACK) return decodePacked(bytes)
    if (bytes[0] !== BATCH_PRIMITIVE) throw malformed(`it starts with byte ${bytes[0]}, neither batch format (${BATCH_PRIMITIVE}, ${BATCH_MSGPACK})`)
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = 0
    this.end = bytes.byteLength
    try {
      this.need(5)
      const pairs = this.buf.readUInt32LE(1)
      this.pos = 5
      // Every pair takes at least two bytes: a count beyond that is a lie, not a reason to allocate.
      if (pairs * 2 > this.end - this.pos) throw malformed(`it claims ${pairs} records in ${this.end} bytes`)
      const out: unknown[] = []
      for (let i = 0; i < pairs; i++) {
        this.need(1)
        const tag = this.buf[this.pos++]
        if (tag === TS_NONE) {
          out.push(this.readValue(0), NO_TIMESTAMP)
        } else if (tag === TS_F64) {
          this.need(8)
          const ts = this.buf.readDoubleLE(this.pos)
          this.pos += 8
          out.push(this.readValue(0), ts)
        } else if (tag === TS_WATERMARK) {
          this.need(8)
          out.push(this.buf.readDoubleLE(this.pos), WATERMARK_TAG)
          this.pos += 8
        } else {
          throw malformed(`record ${i} has timestamp kind ${tag}`)
        }
      }
      if (this.pos !== this.end) throw malformed(`${this.end - this.pos} bytes follow its last record`)
      return out
    } finally {
      // Do not keep the caller's buffer (it may be a reused ring or transfer buffer) alive.
      this.buf = EMPTY
    }
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw malformed(`it ends inside a record (byte ${this.pos} of ${this.end}, ${bytes} more needed)`)
  }

  private readValue(depth: number): unknown {
    this.need(1)
    const type = this.buf[this.pos++]
    switch (type) {
      case T_STR8: {
        this.need(1)
        const length = this.buf[this.pos++]!
        return this.readString(length)
      }
      case T_STR32: {
        this.need(4)
        const length = this.buf.readUInt32LE(this.pos)
        this.pos += 4
        return this.readString(length)
      }
      case T_U8:
        this.need(1)
        return this.buf[this.pos++]
      case T_I32: {
        this.need(4)
        const v = this.buf.readInt32LE(this.pos)
        this.pos += 4
        return v
      }
      case T_F64: {
        this.need(8)
        const v = this.buf.readDoubleLE(this.pos)
        this.pos += 8
        return v
      }
      case T_TRUE:
        return true
      case T_FALSE:
        return false
      case T_NULL:
        return null
      case T_UNDEFINED:
        return undefined
      case T_ARRAY: {
        if (depth >= MAX_DEPTH) throw malformed('its records nest too deep')
        this.need(1)
        const n = this.buf[this.pos++]!
        // Pairs (the common tuple) as a literal: an array of exactly two elements, no spare capacity.
        if (n === 2) {
          const first = this.readValue(depth + 1)
          return [first, this.readValue(depth + 1)]
        }
        const array: unknown[] = new Array(n)
        for (let i = 0; i < n; i++) array[i] = this.readValue(depth + 1)
        return array
      }
      default:
        throw malformed(`it holds a value of unknown type ${type} at byte ${this.pos - 1}`)
    }
  }

  private readString(length: number): string {
    this.need(length)
    const buf = this.buf
    const p = this.pos
    this.pos = p + length
    // Short ASCII strings (most words) are built in JavaScript: cheaper than a native call.
    if (length <= 8) {
      if (length === 0) return ''
      const a = buf[p]!
      if (length === 1) return a < 0x80 ? fromCharCode(a) : buf.toString('utf8', p, p + 1)
      const b = buf[p + 1]!
      if (length === 2) return (a | b) < 0x80 ? fromCharCode(a, b) : buf.toString('utf8', p, p + 2)
      const c = buf[p + 2]!
      if (length === 3) return (a | b | c) < 0x80 ? fromCharCode(a, b, c) : buf.toString('utf8', p, p + 3)
      const d = buf[p + 3]!
      if (length === 4) return (a | b | c | d) < 0x80 ? fromCharCode(a, b, c, d) : buf.toString('utf8', p, p + 4)
      const e = buf[p + 4]!
      if (length === 5) return (a | b | c | d | e) < 0x80 ? fromCharCode(a, b, c, d, e) : buf.toString('utf8', p, p + 5)
      const f = buf[p + 5]!
      if (length === 6) return (a | b | c | d | e | f) < 0x80 ? fromCharCode(a, b, c, d, e, f) : buf.toString('utf8', p, p + 6)
      const g = buf[p + 6]!
      if (length === 7) return (a | b | c | d | e | f | g) < 0x80 ? fromCharCode(a, b, c, d, e, f, g) : buf.toString('utf8', p, p + 7)
      const h = buf[p + 7]!
      return (a | b | c | d | e | f | g | h) < 0x80 ? fromCharCode(a, b, c, d, e, f, g, h) : buf.toString('utf8', p, p + 8)
    }
    return buf.toString('utf8', p, p + length)
  }
}

function decodePacked(bytes: Uint8Array): unknown[] {
  let pairs: unknown
  try {
    pairs = unpackr.unpack(bytes.subarray(1))
  } catch (e) {
    throw malformed(`its msgpack document is invalid: ${(e as Error).message}`)
  }
  if (!Array.isArray(pairs) || pairs.length % 2 !== 0) throw malformed('its msgpack document is not a list of (record, timestamp) pairs')
  return pairs
}

function malformed(why: string): WeirError {
  return new WeirError('WEIR_NETWORK_FRAME_INVALID', `a malformed batch of records: ${why}`)
}

// One encoder and one decoder per thread: a slot thread runs one task loop, and neither is reentrant.
const encoder = new BatchEncoder()
const decoder = new BatchDecoder()

/** Encodes a batch (flat record, timestamp pairs). The result is only valid until the next call: copy it before keeping it. */
export function encodeBatch(pairs: readonly unknown[]): Uint8Array {
  return encoder.encode(pairs)
}

/** Decodes a batch; throws a WeirError (WEIR_NETWORK_FRAME_INVALID) for bytes that are not one. */
export function decodeBatch(bytes: Uint8Array): unknown[] {
  return decoder.decode(bytes)
}

/** Encodes one value into a fresh, owned buffer (for state and control messages). */
export function encodeValue(value: unknown): Uint8Array {
  return Uint8Array.prototype.slice.call(packTransient(packr, value))
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return unpackr.unpack(bytes) as T
}

/** Decodes values packed one after another (each by encodeValue) in `bytes`, in order. */
export function decodeSequence<T>(bytes: Uint8Array): T[] {
  return unpackr.unpackMultiple(bytes) as T[]
}
