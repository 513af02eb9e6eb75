// The shared files of the LMDB backend's incremental checkpoints. A segment holds raw LMDB
// entries (key bytes, value bytes, or a deletion) in key order, so one segment covers a
// contiguous run of key groups and a restore skips the segments outside its range. A checkpoint
// is a base (every entry) plus deltas (the entries changed since, deletions included), each cut
// into segments of at most SEGMENT_BYTES. Segments are framed, checksummed and written
// atomically with checkpoint/file-format.ts, under <execution.checkpointing.dir>/<job-id>/shared/.
//
// Payload: a version byte (1), then per entry: key length (u16 BE), key, value length (u32 BE;
// 0xffffffff for a deletion of the key, 0xfffffffe for a deletion of every key that starts with
// it: a cleared MapState), value.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { unframe, writeFramedChunks, FileKind } from '../../checkpoint/file-format.ts'
import { WeirError } from '../../errors.ts'
import { primitiveBytes, writePrimitive } from './primitive-values.ts'

/**
 * The file kind of a segment in the framing header. file-format.ts has no kind for it yet
 * (FileKind.LMDB_SEGMENT); the kind keeps segments apart from task state files.
 */
export const LMDB_SEGMENT_KIND = FileKind.LMDB_SEGMENT

const PAYLOAD_VERSION = 1
const TOMBSTONE = 0xffffffff
const PREFIX_TOMBSTONE = 0xfffffffe
/** Segments are cut at this payload size (a segment is built in memory before it is written). */
export const SEGMENT_BYTES = 32 * 1024 * 1024

/** One shared file as a snapshot references it. */
export interface SegmentRef {
  /** File name inside the shared directory. */
  readonly name: string
  readonly firstKeyGroup: number
  readonly lastKeyGroup: number
  /** Size of the framed file. */
  readonly bytes: number
  readonly entries: number
}

/** The checkpoint id in a segment's file name, or null for a name that is not a segment's. */
export function checkpointIdOfSegment(name: string): number | null {
  const m = /-chk(\d+)-(?:base|delta)-\d+\.lmdbseg$/.exec(name)
  return m ? Number(m[1]) : null
}

export function segmentName(prefix: string, checkpointId: number, kind: 'base' | 'delta', seq: number): string {
  return `${prefix}-chk${checkpointId}-${kind}-${seq}.lmdbseg`
}

// An entry's parts, for SegmentWriter and for writers that lay out entries in buffers of their
// own (heap/key-group-runs.ts): [u16 key length][key], then putPrimitiveValue or putDeletion.

/** The bytes an entry takes besides its key and its value: their lengths. */
export const ENTRY_OVERHEAD = 6

/** Writes the length of the key that follows at `at + 2`. */
export function putKeyLength(buf: Buffer, at: number, keyLength: number): void {
  buf[at] = keyLength >> 8
  buf[at + 1] = keyLength & 0xff
}

/** Writes a primitive value (room: 4 + primitiveBytes(v)) after the key that ends at `at`; returns the entry's end. */
export function putPrimitiveValue(buf: Buffer, at: number, v: number | string | boolean | null): number {
  const end = writePrimitive(buf, at + 4, v)
  putU32(buf, at, end - at - 4)
  return end
}

/** Makes the entry whose key ends at `at` a deletion of that key (`prefix`: of every key that starts with it); returns the entry's end. */
export function putDeletion(buf: Buffer, at: number, prefix = false): number {
  putU32(buf, at, prefix ? PREFIX_TOMBSTONE : TOMBSTONE)
  return at + 4
}

/** Big-endian, by hand: Buffer#writeUInt32BE's checks cost more than the write, once per entry. */
function putU32(buf: Buffer, at: number, n: number): void {
  buf[at] = n >>> 24
  buf[at + 1] = (n >>> 16) & 0xff
  buf[at + 2] = (n >>> 8) & 0xff
  buf[at + 3] = n & 0xff
}

/** A segment is built in pieces of this size, written as they are (never copied into one buffer). */
const PIECE_BYTES = 1 << 20

/** Builds segments from entries given in key order and writes each when it is full. */
export class SegmentWriter {
  readonly written: SegmentRef[] = []
  /** The piece being filled, where in it, and the segment's earlier pieces (their bytes in all). */
  private buf = Buffer.allocUnsafe(PIECE_BYTES)
  private pos = 1
  private pieces: Buffer[] = []
  private piecesBytes = 0
  private entries = 0
  private firstKg = -1
  private lastKg = -1
  private seq = 0
  private full: Array<{ payload: Buffer[]; firstKg: number; lastKg: number; entries: number }> = []

  constructor(private readonly dir: string, private readonly prefix: string, private readonly checkpointId: number, private readonly kind: 'base' | 'delta') {}

  /**
   * Appends an entry (value null: a deletion; `prefix`: deletes every key starting with `key`).
   * Call drain() now and then to write full segments.
   */
  add(key: Uint8Array, value: Uint8Array | null, prefix = false): void {
    this.reserve(ENTRY_OVERHEAD + key.length + (value ? value.length : 0))
    const b = this.buf
    const p = this.putKey(key, key.length)
    if (value === null) {
      this.pos = putDeletion(b, p, prefix)
    } else {
      putU32(b, p, value.length)
      b.set(value, p + 4)
      this.pos = p + 4 + value.length
    }
    this.entries++
  }

  /**
   * add() of the first `keyLength` bytes of `key` and a value not yet packed: a primitive is
   * written in place (primitive-values.ts), anything else is packed by `pack`.
   */
  addValue(key: Buffer, keyLength: number, value: unknown, pack: (v: unknown) => Uint8Array): void {
    const room = primitiveBytes(value)
    if (room < 0) {
      this.add(key.subarray(0, keyLength), pack(value))
      return
    }
    this.reserve(ENTRY_OVERHEAD + keyLength + room)
    this.pos = putPrimitiveValue(this.buf, this.putKey(key, keyLength), value as number | string | boolean | null)
    this.entries++
  }

  /**
   * Appends key group `kg`'s entries, encoded as add() encodes them (a run of
   * heap/key-group-runs.ts), without copying them: each piece becomes part of the payload, and a
   * segment is cut between pieces. Key groups come in order, after what add() wrote for lower ones.
   */
  addRun(kg: number, pieces: ReadonlyArray<{ readonly bytes: Buffer; readonly entries: number }>): void {
    for (const piece of pieces) {
      if (piece.entries === 0) continue
      if (this.entries > 0 && this.piecesBytes + this.pos + piece.bytes.length > SEGMENT_BYTES) this.cut()
      // What this writer wrote itself goes first (a segment's first piece holds the version
      // byte); it goes on writing into the rest of its buffer.
      if (this.pos > 0) {
        this.pieces.push(this.buf.subarray(0, this.pos))
        this.piecesBytes += this.pos
        this.buf = this.buf.subarray(this.pos)
        this.pos = 0
      }
      this.pieces.push(piece.bytes)
      this.piecesBytes += piece.bytes.length
      if (this.firstKg < 0) this.firstKg = kg
      this.lastKg = kg
      this.entries += piece.entries
    }
  }

  /**
   * Room for an entry of `need` bytes in the current piece: the segment is cut first when it would
   * outgrow SEGMENT_BYTES, and a new piece started when this one is full. (The buffer used to
   * grow by doubling, each time copying what it held: 16 MB at once, 10-20 ms of the task thread.)
   */
  private reserve(need: number): void {
    if (this.entries > 0 && this.piecesBytes + this.pos + need > SEGMENT_BYTES) this.cut()
    if (this.pos + need > this.buf.length) {
      this.pieces.push(this.buf.subarray(0, this.pos))
      this.piecesBytes += this.pos
      this.buf = Buffer.allocUnsafe(Math.max(PIECE_BYTES, need))
      this.pos = 0
    }
  }

  /**
   * Writes a key's length and bytes at the end, and notes its key group; returns where its value
   * goes. The entry is the segment's once `pos` passes it.
   */
  private putKey(key: Uint8Array, keyLength: number): number {
    const kg = (key[0]! << 8) | key[1]!
    if (this.firstKg < 0) this.firstKg = kg
    this.lastKg = kg
    const b = this.buf
    const p = this.pos
    putKeyLength(b, p, keyLength)
    if (keyLength === key.length) b.set(key, p + 2)
    else if (keyLength <= 32) {
      // A prefix of a reused key buffer: short keys byte by byte (Buffer#copy's call into C++
      // cost more than the copy: a fifth of a heap incremental checkpoint), long ones copied.
      for (let i = 0; i < keyLength; i++) b[p + 2 + i] = key[i]!
    } else (key as Buffer).copy(b, p + 2, 0, keyLength)
    return p + 2 + keyLength
  }

  /** Writes the segments that are full. */
  async drain(): Promise<void> {
    while (this.full.length > 0) {
      const s = this.full.shift()!
      await this.write(s.payload, s.firstKg, s.lastKg, s.entries)
    }
  }

  /** Writes what is left; returns every segment written, in order. */
  async finish(): Promise<SegmentRef[]> {
    if (this.entries > 0) this.cut()
    await this.drain()
    return this.written
  }

  private cut(): void {
    // The pieces become the payload, as they are, and the writer starts a new piece.
    const payload = this.pos > 0 ? [...this.pieces, this.buf.subarray(0, this.pos)] : [...this.pieces]
    payload[0]![0] = PAYLOAD_VERSION
    this.full.push({ payload, firstKg: this.firstKg, lastKg: this.lastKg, entries: this.entries })
    this.buf = Buffer.allocUnsafe(PIECE_BYTES)
    this.pos = 1
    this.pieces = []
    this.piecesBytes = 0
    this.entries = 0
    this.firstKg = this.lastKg = -1
  }

  private async write(payload: Buffer[], firstKg: number, lastKg: number, entries: number): Promise<void> {
    const name = segmentName(this.prefix, this.checkpointId, this.kind, this.seq++)
    const bytes = await writeFramedChunks(join(this.dir, name), LMDB_SEGMENT_KIND, payload)
    this.written.push({ name, firstKeyGroup: firstKg, lastKeyGroup: lastKg, bytes, entries })
  }
}

/** Reads a segment synchronously (restore is synchronous) and checks its frame. */
export function readSegment(dir: string, ref: SegmentRef): Buffer {
  const path = join(dir, ref.name)
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', code === 'ENOENT' ? `shared state file ${path} is missing (deleted while a checkpoint still referenced it?)` : `cannot read shared state file ${path}: ${code}`, { domain: 'external' })
  }
  if (bytes.length !== ref.bytes) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `shared state file ${path} is damaged: it is ${bytes.length} bytes long, the snapshot says ${ref.bytes}`, { domain: 'external' })
  const payload = unframe(bytes, LMDB_SEGMENT_KIND, path)
  if (payload[0] !== PAYLOAD_VERSION) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `shared state file ${path} has segment version ${payload[0]}; this Weir reads version ${PAYLOAD_VERSION}`, { domain: 'user' })
  return Buffer.from(payload.buffer, payload.byteOffset, payload.length)
}

/** Calls `fn` for every entry of a segment's payload; key and value are views into it (`prefix`: a deletion of every key starting with `key`). */
export function forEachSegmentEntry(payload: Buffer, fn: (key: Buffer, value: Buffer | null, prefix: boolean) => void): void {
  let p = 1
  const end = payload.length
  while (p < end) {
    const klen = payload.readUInt16BE(p)
    const key = payload.subarray(p + 2, p + 2 + klen)
    p += 2 + klen
    const vlen = payload.readUInt32BE(p)
    p += 4
    if (vlen === TOMBSTONE || vlen === PREFIX_TOMBSTONE) {
      fn(key, null, vlen === PREFIX_TOMBSTONE)
    } else {
      fn(key, payload.subarray(p, p + vlen), false)
      p += vlen
    }
  }
}
