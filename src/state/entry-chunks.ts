// Canonical keyed-state entries as a snapshot builds them in memory: the flat
// [key group, key, value, ...] list cut into chunks of whole entries, never one large array.
// One array of millions of elements held the task thread each time it grew (V8 copies it
// whole: 25-60 ms at 6 M elements), and allocating it at its full size costs as much. The
// chunks are written as one sliced array (sliced-encoding.ts), the same bytes as the flat
// list, so a checkpoint file reads back as a flat list; packed by msgpackr directly (tests,
// the operator harness), they are the flat list too.

import { addExtension } from 'msgpackr'

/** Elements per chunk: whole entries (3 elements each), and under V8's large-object size. */
export const CHUNK_ELEMENTS = 3 * 4096

export class EntryChunks {
  /** Elements in all the chunks (3 per entry). */
  readonly length: number
  constructor(readonly chunks: readonly unknown[][]) {
    let n = 0
    for (const c of chunks) n += c.length
    this.length = n
  }
}

/** Canonical entries as one flat list (as read from a file) or as chunks (as built in memory). */
export type CanonicalEntryList = unknown[] | EntryChunks

/** The flat lists `entries` consists of, in order. */
export function entryChunks(entries: CanonicalEntryList): readonly unknown[][] {
  return entries instanceof EntryChunks ? entries.chunks : [entries]
}

/** Collects entries into chunks of CHUNK_ELEMENTS. */
export class EntryChunkBuilder {
  private readonly chunks: unknown[][] = []
  private chunk: unknown[] = []

  add(keyGroup: number, key: unknown, value: unknown): void {
    const c = this.chunk
    c.push(keyGroup, key, value)
    if (c.length >= CHUNK_ELEMENTS) {
      this.chunks.push(c)
      this.chunk = []
    }
  }

  finish(): EntryChunks {
    if (this.chunk.length > 0) this.chunks.push(this.chunk)
    this.chunk = []
    return new EntryChunks(this.chunks)
  }
}

// Without a type, msgpackr packs what write() returns in place of the instance: the flat list.
addExtension({ Class: EntryChunks, write: (c: EntryChunks) => c.chunks.flat() })
