// Serializes a task's snapshot in slices, so that no step of the asynchronous phase holds the
// task thread for long: the large arrays of a snapshot (canonical keyed state entries, timers,
// in-flight records) are packed a slice at a time, yielding to the event loop between slices,
// and the result is a list of chunks written out one after another (never joined into one
// buffer). In the document, a large array becomes { [SLICED]: n, slices: [bin, ...] }: each bin
// holds one slice of the array as a MessagePack document of its own, or as several in a row
// when the slice's elements are large (a slice of 2,048 values of 1 KiB packed at once held the
// thread for tens of milliseconds), so that slices share no record structures with the outer
// document or with each other. The outer document is packed with
// 16-byte markers in place of the bins, and each marker is then cut out and replaced by the bin's
// header and the slice's bytes. joinSlicedArrays, after decodeValue, puts the arrays back.
// A part encoded beforehand (EncodedPart: an unaligned checkpoint's in-flight records, whose
// size the checkpoint reports) is embedded the same way, as { [EMBEDDED]: bin } holding its
// chunks as they are, so that the bytes counted are the bytes written, encoded once. Canonical
// entries built in chunks (EntryChunks) are sliced as the one array they stand for.

import { randomBytes } from 'node:crypto'
import { decodeSequence, decodeValue, encodeValue } from '../runtime/network/batch-codec.ts'
import { TaskSlices } from '../state/task-slices.ts'
import { EntryChunks } from '../state/entry-chunks.ts'

/** The key that marks a sliced array in a decoded document. */
export const SLICED = '__weirSlicedArray'
/** The key that marks a part encoded on its own (EncodedPart) in a decoded document. */
export const EMBEDDED = '__weirEmbeddedDocument'
/** Arrays with more elements than this are packed in slices. */
const LARGE = 4096
/** Elements per slice. */
const SLICE_ELEMENTS = 2048
/** A slice's elements are packed as several documents when one would pass this many bytes. */
const DOCUMENT_BYTES = 64 << 10
/** Elements in a large array's first document, before their size is known. */
const FIRST_DOCUMENT_ELEMENTS = 64
/** Yield to the event loop after this long. */
const SLICE_MS = 4
/** How deep a snapshot's structure is searched for large arrays. */
const MAX_DEPTH = 8

/** A part of a document already encoded by encodeInSlices: encodeInSlices embeds its chunks, joinSlicedArrays decodes them in place. */
export class EncodedPart {
  readonly bytes: number
  constructor(readonly chunks: readonly Uint8Array[]) {
    this.bytes = chunksLength(chunks)
  }
}

/** `value` as MessagePack chunks, packed in slices; their concatenation decodes (decodeValue, then joinSlicedArrays) to `value`. */
export async function encodeInSlices(value: unknown): Promise<Uint8Array[]> {
  // Large arrays and encoded parts, in the order of their markers in the outer document.
  const large: Array<unknown[] | EntryChunks | EncodedPart> = []
  const tag = randomBytes(12)
  let markers = 0
  // Markers and bin headers are views of shared blocks: a buffer of its own for each (an
  // ArrayBuffer apiece, thousands of them for a large state) held the thread for 20 ms.
  const small = new SmallBuffers()
  const marker = () => {
    const m = small.take(16)
    tag.copy(m, 0)
    m.writeUInt32BE(markers++, 12)
    return m
  }
  // Copies the path to every large array, with the array replaced by its sliced form.
  const strip = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v
    if (v instanceof EncodedPart) {
      large.push(v)
      return { [EMBEDDED]: marker() }
    }
    if (v instanceof EntryChunks) {
      // Chunks of one array: sliced as one, each chunk apart (a slice never spans two).
      large.push(v)
      const slices: Buffer[] = []
      for (const chunk of v.chunks) for (let s = 0; s < chunk.length; s += SLICE_ELEMENTS) slices.push(marker())
      return { [SLICED]: v.length, slices }
    }
    if (Array.isArray(v)) {
      if (v.length > LARGE) {
        large.push(v)
        const slices: Buffer[] = []
        for (let s = 0; s < v.length; s += SLICE_ELEMENTS) slices.push(marker())
        return { [SLICED]: v.length, slices }
      }
      let copy: unknown[] | null = null
      for (let i = 0; i < v.length; i++) {
        const s = strip(v[i], depth + 1)
        if (s !== v[i]) (copy ??= v.slice())[i] = s
      }
      return copy ?? v
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return v
    let copy: Record<string, unknown> | null = null
    for (const [k, x] of Object.entries(v)) {
      const s = strip(x, depth + 1)
      if (s !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = s
    }
    return copy ?? v
  }
  const outer = encodeValue(strip(value, 0))
  if (large.length === 0) return [outer]
  const buf = Buffer.from(outer.buffer, outer.byteOffset, outer.length)
  const chunks: Uint8Array[] = []
  const slices = new TaskSlices(SLICE_MS)
  let from = 0
  let index = 0
  // A marker as the outer document holds it, a bin 8 of 16 bytes: 0xc4 0x10, then its bytes.
  const packedMarker = Buffer.alloc(18)
  packedMarker[0] = 0xc4
  packedMarker[1] = 0x10
  tag.copy(packedMarker, 2)
  // Replaces the next marker with a bin 32 of `parts` (`length` bytes in all).
  const splice = (parts: readonly Uint8Array[], length: number) => {
    packedMarker.writeUInt32BE(index++, 14)
    const at = buf.indexOf(packedMarker, from)
    if (at < 0) throw new Error(`sliced encoding: marker ${index - 1} is missing from the outer document`)
    chunks.push(outer.subarray(from, at))
    const header = small.take(5)
    header[0] = 0xc6
    header.writeUInt32BE(length, 1)
    chunks.push(header)
    for (const p of parts) chunks.push(p)
    from = at + 18
  }
  for (const item of large) {
    if (item instanceof EncodedPart) {
      splice(item.chunks, item.bytes)
      continue
    }
    // Elements per document: a few to start with, then as many as keep a document small.
    let elementsPerDocument = FIRST_DOCUMENT_ELEMENTS
    for (const array of item instanceof EntryChunks ? item.chunks : [item]) for (let s = 0; s < array.length; s += SLICE_ELEMENTS) {
      const end = Math.min(s + SLICE_ELEMENTS, array.length)
      const documents: Uint8Array[] = []
      let documentBytes = 0
      for (let at = s; at < end; ) {
        const to = Math.min(at + elementsPerDocument, end)
        const document = encodeValue(array.slice(at, to))
        documents.push(document)
        documentBytes += document.length
        // Large elements (1 KiB values, say) go fewer to a document, so that no one packing
        // holds the thread for long; small ones go back to a whole slice per document.
        const count = to - at
        if (document.length > DOCUMENT_BYTES) elementsPerDocument = Math.max(1, Math.floor((count * DOCUMENT_BYTES) / document.length))
        else if (document.length < DOCUMENT_BYTES / 4 && count === elementsPerDocument) elementsPerDocument = Math.min(SLICE_ELEMENTS, elementsPerDocument * 2)
        at = to
        if (slices.overdue()) await slices.yield()
      }
      splice(documents, documentBytes)
    }
  }
  chunks.push(outer.subarray(from))
  return chunks
}

/** Small buffers cut from shared blocks, never reused (each stays valid while it is referenced). */
class SmallBuffers {
  private block = Buffer.allocUnsafe(0)
  private at = 0
  take(n: number): Buffer {
    if (this.at + n > this.block.length) {
      this.block = Buffer.allocUnsafe(4096)
      this.at = 0
    }
    const b = this.block.subarray(this.at, this.at + n)
    this.at += n
    return b
  }
}

/** Puts the sliced arrays of a decoded document back together (in place; returns the value). */
export function joinSlicedArrays<T>(value: T): T {
  return join(value, 0) as T
}

function join(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH + 1 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = join(v[i], depth + 1)
    return v
  }
  const o = v as Record<string, unknown>
  if (o[EMBEDDED] instanceof Uint8Array) return join(decodeValue(o[EMBEDDED]), 0)
  if (typeof o[SLICED] === 'number' && Array.isArray(o.slices)) {
    const out: unknown[] = []
    // A slice is one document, or several in a row when its elements are large (encodeInSlices).
    for (const slice of o.slices as Uint8Array[]) for (const part of decodeSequence<unknown[]>(slice)) for (const x of part) out.push(x)
    if (out.length !== o[SLICED]) throw new Error(`a sliced array holds ${out.length} elements, its header says ${o[SLICED] as number}`)
    return out
  }
  for (const k of Object.keys(o)) o[k] = join(o[k], depth + 1)
  return o
}

/** Total bytes of chunks. */
export function chunksLength(chunks: readonly Uint8Array[]): number {
  let n = 0
  for (const c of chunks) n += c.length
  return n
}
