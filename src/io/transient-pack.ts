// MessagePack of one value at a time into a buffer that is reused, for bytes that are copied
// at once (a value into a segment of an incremental checkpoint, a slice of a snapshot, a network
// batch). msgpackr keeps one output buffer for the whole thread, shared by every Packr, and
// returns views of it: it moves on past each result and, near the end, allocates a fresh buffer
// as large as the last one. Once a large document (a canonical snapshot's slice) had grown that
// buffer to megabytes, packing millions of small values allocated a multi-megabyte buffer every
// few thousand values; at 200 MB of heap state one such allocation held the task thread for
// 50-80 ms, and the discarded buffers, counted as external memory, brought on garbage
// collections. Here every value is packed at the start of one buffer, kept at the largest size
// needed so far (up to MAX_KEPT). Packing elsewhere with packr.pack() directly stays correct: it
// goes on after the last result, and its bytes, too, must be copied before the next packing.

import type { Packr } from 'msgpackr'

const MAX_KEPT = 16 << 20
let scratch: Buffer = Buffer.allocUnsafeSlow(64 << 10)

/** `value` packed by `packr`; the bytes are valid until the next packing by any Packr of this thread: copy them at once. */
export function packTransient(packr: Packr, value: unknown): Buffer {
  packr.useBuffer(scratch)
  const bytes = packr.pack(value)
  // msgpackr outgrew the buffer and packed into a larger one of its own: keep that one.
  if (bytes.buffer !== scratch.buffer && bytes.buffer.byteLength <= MAX_KEPT) scratch = Buffer.from(bytes.buffer)
  return bytes
}
