// MessagePack of a primitive value (a number, a string, a boolean, null) written straight into a
// buffer, for writers that store one value per entry: the heap backend's incremental
// checkpoints write one per changed key, and LMDB commits one per written key; a msgpackr pack()
// per value (its set-up and the Buffer it returns) was 40 % of such a checkpoint. Other values
// are the caller's to pack with msgpackr. The bytes are key-codec.ts's (encodeKey), standard MessagePack
// with minimal headers, so msgpackr's unpack reads them back as the same value (-0 as 0, as
// msgpackr itself packs it).

import { encodeKey } from './key-codec.ts'

/** The most bytes writePrimitive may write for `v` (a string's largest header and 3 bytes a UTF-16 unit), or -1 when `v` is not a primitive. */
export function primitiveBytes(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return 9
    case 'string':
      return 5 + 3 * v.length
    case 'boolean':
      return 1
    case 'object':
      return v === null ? 1 : -1
    default:
      return -1
  }
}

/**
 * Writes `v`, a primitive (primitiveBytes(v) >= 0), at `at` with room for primitiveBytes(v);
 * returns the position after it. A primitive's key bytes are its MessagePack: encodeKey writes
 * them (bigints and composite keys, which it writes otherwise, are not primitives here).
 */
export function writePrimitive(buf: Buffer, at: number, v: number | string | boolean | null): number {
  return encodeKey(v, buf, at)
}
