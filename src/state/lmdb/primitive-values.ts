// MessagePack of a primitive value (a number, a string of up to 85 UTF-16 units, a boolean,
// null) written straight into a buffer, for segment writers that store one small value per
// entry: the heap backend's incremental checkpoints write one per changed key, and a msgpackr
// pack() per value (its set-up and the Buffer it returns) was 40 % of such a checkpoint. Other
// values give -1: the caller packs them with msgpackr. The bytes are key-codec.ts's, standard
// MessagePack with minimal headers, so msgpackr's unpack reads them back as the same value (-0
// as 0, as msgpackr itself packs it).

import { writeNumber, writeString } from './key-codec.ts'

/** Strings up to this many UTF-16 units are primitives here (longer ones need room of their own: SegmentWriter.addValue). */
export const MAX_STRING_UNITS = 85
/** The most bytes writePrimitive writes: a string's largest header and 85 UTF-16 units as UTF-8. */
export const MAX_PRIMITIVE_BYTES = 5 + 3 * MAX_STRING_UNITS

/** Writes `v` at `at` when it is a primitive; returns the position after it, or -1 (nothing written). */
export function writePrimitive(buf: Buffer, at: number, v: unknown): number {
  switch (typeof v) {
    case 'number':
      return writeNumber(v, buf, at)
    case 'string':
      return v.length <= MAX_STRING_UNITS ? writeString(v, buf, at) : -1
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
