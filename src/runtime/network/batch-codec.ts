// Serializes batches of records for crossing a thread or process boundary. One msgpack
// document per batch (not per record), so the per-record cost is the encoding alone; msgpackr
// reuses its output buffer between calls, and record structures are declared inline per
// batch, so the two sides share no state and need no handshake.

import { Packr, Unpackr } from 'msgpackr'
import { WeirError } from '../../errors.ts'

const packr = new Packr({ useRecords: true, moreTypes: true })
const unpackr = new Unpackr({ useRecords: true, moreTypes: true })

/** Encodes a batch. The result is only valid until the next call: copy it before keeping it. */
export function encodeBatch(records: readonly unknown[]): Uint8Array {
  try {
    return packr.pack(records)
  } catch (cause) {
    throw new WeirError('WEIR_SERIALIZATION_FAILED', `a record could not be serialized: ${(cause as Error).message}`, { cause, domain: 'user' })
  }
}

export function decodeBatch(bytes: Uint8Array): unknown[] {
  return unpackr.unpack(bytes) as unknown[]
}

/** Encodes one value into a fresh, owned buffer (for state and control messages). */
export function encodeValue(value: unknown): Uint8Array {
  return Uint8Array.prototype.slice.call(packr.pack(value))
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return unpackr.unpack(bytes) as T
}
