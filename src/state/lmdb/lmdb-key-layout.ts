// The layout of the LMDB backend's keys (big-endian):
//
//   [key group: u16][state id: u16][user key][map key]      map key: MapState entries only
//
// User and map keys are in key-codec.ts's self-delimiting byte form. The key group leads, so one
// key group's entries are contiguous and a snapshot reads in key-group order; within it a state's
// entries, then one user key's map entries, are contiguous too. This file writes such keys into
// reusable buffers (KeyRef) and builds the ranges the backend scans. Past every state's keys lies
// the backend's commit marker (COMMIT_MARKER_KEY); whole-database scans end before it.

import { assignToKeyGroup } from '../key-groups.ts'
import { UserError } from '../../errors.ts'
import type { RootDatabase } from 'lmdb'
import { decodeKey, decodedEnd, encodeCompositeText, encodeKey } from './key-codec.ts'

/** LMDB's largest key (lmdb-js builds LMDB with this limit). */
export const MAX_KEY_BYTES = 1978
export const KEY_BUFFER_BYTES = 8192

/** A composite key (array, object), interned by its JSON text while it has pending writes. */
export interface KeyToken {
  readonly key: unknown
  readonly text: string
  readonly kg: number
}

/** An LMDB key held in a buffer; the key encoder copies it, so no Buffer is cut per access. */
export class KeyRef {
  len = 0
  constructor(readonly buf: Buffer) {}
}

/** lmdb-js's key encoder: copies a KeyRef's bytes (or a Buffer) into LMDB's key buffer. */
export const keyRefEncoder = {
  writeKey(key: unknown, target: Uint8Array, start: number): number {
    if (key instanceof KeyRef) {
      const { buf, len } = key
      if (len <= 64) for (let i = 0; i < len; i++) target[start + i] = buf[i]!
      else buf.copy(target, start, 0, len)
      return start + len
    }
    target.set(key as Uint8Array, start)
    return start + (key as Uint8Array).length
  },
  readKey(source: Uint8Array, start: number, end: number): Buffer {
    return Buffer.from(source.subarray(start, end))
  },
}

/** Cache keys are primitives (the user's key) or KeyTokens (composite keys): any object is a token. */
export function isToken(ck: unknown): boolean {
  return typeof ck === 'object' && ck !== null
}

/** Writes [key group][state id][user key] of cache key `ck` into `ref`; returns the end. */
export function encodeStateKey(ck: unknown, sid: number, ref: KeyRef, maxParallelism: number): number {
  const kg = isToken(ck) ? (ck as KeyToken).kg : assignToKeyGroup(ck, maxParallelism)
  const end = writeStateKey(ck, sid, kg, ref.buf, 0)
  ref.len = end
  return end
}

/**
 * Writes [key group][state id][user key] of cache key `ck`, whose key group the caller knows, at
 * `at` in `b` (room: 4 + maxKeyBytes of the key); returns the end. For writers that lay out many
 * keys in one buffer (heap incremental checkpoints) without a copy per key.
 */
export function writeStateKey(ck: unknown, sid: number, kg: number, b: Buffer, at: number): number {
  let end: number
  if (isToken(ck)) {
    const token = ck as KeyToken
    if (token.text.length > MAX_KEY_BYTES) throw keyTooLong(token.text.length)
    end = encodeCompositeText(token.text, b, at + 4)
  } else {
    if (typeof ck === 'string' && ck.length > MAX_KEY_BYTES) throw keyTooLong(ck.length)
    end = encodeKey(ck, b, at + 4)
  }
  if (end - at > MAX_KEY_BYTES) throw keyTooLong(end - at)
  b[at] = kg >> 8
  b[at + 1] = kg & 0xff
  b[at + 2] = sid >> 8
  b[at + 3] = sid & 0xff
  return end
}

/** Writes a map key (composite keys as their JSON text) after a user key. */
export function writeMapKey(mk: unknown, buf: Buffer, pos: number, text?: string): number {
  let end: number
  if (typeof mk === 'object' && mk !== null) {
    const t = text ?? JSON.stringify(mk)
    if (pos + t.length > MAX_KEY_BYTES) throw keyTooLong(pos + t.length)
    end = encodeCompositeText(t, buf, pos)
  } else {
    if (typeof mk === 'string' && pos + mk.length > MAX_KEY_BYTES) throw keyTooLong(pos + mk.length)
    end = encodeKey(mk, buf, pos)
  }
  if (end > MAX_KEY_BYTES) throw keyTooLong(end)
  return end
}

/** Writes map cache key `mck` (a primitive or a KeyToken) after a user key. */
export function writeMapCacheKey(mck: unknown, buf: Buffer, pos: number): number {
  return isToken(mck) ? writeMapKey((mck as KeyToken).key, buf, pos, (mck as KeyToken).text) : writeMapKey(mck, buf, pos)
}

/** The range of one state's entries in one key group. */
export function stateRange(kg: number, sid: number): { start: Buffer; end: Buffer } {
  const start = Buffer.from([kg >> 8, kg & 0xff, sid >> 8, sid & 0xff])
  const end = Buffer.from([kg >> 8, kg & 0xff, (sid + 1) >> 8, (sid + 1) & 0xff])
  return { start, end }
}

/** Every user key stored for state `sid` (maps: once, however many entries), in key-group order. */
export function storedUserKeys(db: RootDatabase<Buffer, any>, sid: number, map: boolean, maxParallelism: number): unknown[] {
  const out: unknown[] = []
  for (let kg = 0; kg < maxParallelism; kg++) {
    let last: Buffer | null = null
    for (const key of db.getKeys(stateRange(kg, sid)) as Iterable<Buffer>) {
      const uk = decodeKey(key, 4)
      const end = decodedEnd
      if (map) {
        if (last !== null && last.length === end && key.compare(last, 0, end, 0, end) === 0) continue
        last = key.subarray(0, end)
      }
      out.push(uk)
    }
  }
  return out
}

/**
 * The lowest key, where every scan of the whole database starts: without a start, lmdb-js hands
 * this backend's key encoder no key, and the scan yields nothing.
 */
export const LOWEST_KEY: Buffer = Buffer.alloc(1)

/**
 * The end (exclusive) of the states' keys: key groups are below 2^15, so no state key starts
 * with 0xffff. Whole-database scans end here, before the backend's own entries.
 */
export const STATE_KEYS_END: Buffer = Buffer.from([0xff, 0xff])

/** The backend's own entry past the states' keys: the sequence number of the last commit batch that landed (commits-in-flight.ts). */
export const COMMIT_MARKER_KEY: Buffer = Buffer.from([0xff, 0xff, 0x01])

/** The first key after every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

export function keyTooLong(bytes: number): UserError {
  return new UserError('WEIR_INVALID_ARGUMENT', `a key of ${bytes} or more bytes is too long for the lmdb state backend (at most ${MAX_KEY_BYTES - 8} bytes with its key group and state id, map key included)`)
}
