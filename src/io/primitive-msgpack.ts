// MessagePack of a primitive (a number, a string of up to 85 UTF-16 units, a boolean, null)
// written straight into a buffer, for writers that store one small value per entry: the heap
// backend's incremental checkpoints write one per changed key, and a msgpackr pack() per value
// (its set-up and the Buffer it returns) was 40 % of such a checkpoint. Other values give -1:
// the caller packs them with msgpackr. The bytes are standard MessagePack, so msgpackr's unpack
// reads them back as the same value (-0 as 0, as msgpackr itself packs it).

/** The most bytes writePrimitive writes: a str8 header and 85 UTF-16 units as UTF-8. */
export const MAX_PRIMITIVE_BYTES = 2 + 255
const MAX_STRING_UNITS = 85

/** Writes `v` at `at` when it is a primitive; returns the position after it, or -1 (nothing written). */
export function writePrimitive(buf: Buffer, at: number, v: unknown): number {
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
        if (v >= 0) {
          if (v < 0x80) {
            buf[at] = v
            return at + 1
          }
          if (v < 0x100) {
            buf[at] = 0xcc
            buf[at + 1] = v
            return at + 2
          }
          if (v < 0x10000) {
            buf[at] = 0xcd
            buf.writeUInt16BE(v, at + 1)
            return at + 3
          }
          buf[at] = 0xce
          buf.writeUInt32BE(v, at + 1)
          return at + 5
        }
        if (v >= -32) {
          buf[at] = v & 0xff // negative fixint
          return at + 1
        }
        if (v >= -0x80) {
          buf[at] = 0xd0
          buf.writeInt8(v, at + 1)
          return at + 2
        }
        if (v >= -0x8000) {
          buf[at] = 0xd1
          buf.writeInt16BE(v, at + 1)
          return at + 3
        }
        buf[at] = 0xd2
        buf.writeInt32BE(v, at + 1)
        return at + 5
      }
      buf[at] = 0xcb
      buf.writeDoubleBE(v, at + 1)
      return at + 9
    case 'string': {
      if (v.length > MAX_STRING_UNITS) return -1
      const bytes = buf.write(v, at + 2, 'utf8')
      buf[at] = 0xd9
      buf[at + 1] = bytes
      return at + 2 + bytes
    }
    case 'boolean':
      buf[at] = v ? 0xc3 : 0xc2
      return at + 1
    case 'object':
      if (v !== null) return -1
      buf[at] = 0xc0
      return at + 1
    default:
      return -1
  }
}
