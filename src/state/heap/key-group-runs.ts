// The entries of a heap incremental checkpoint, encoded as a segment holds them
// (lmdb/segment-file.ts), one run of bytes per key group. The writer walks the changed keys once
// in the order the table holds them and appends each entry to its key group's run; the runs,
// taken in key-group order, are then the segments' payload as they are. Before, each entry was
// first collected as three references in its key group's list and then encoded in a second
// pass, which hashed its key again for the key group and copied the key's bytes from a scratch
// buffer into the segment: about 500 ns an entry, where walking a table costs 15-50.
//
// A run is a list of pieces. A piece is never copied or grown: when an entry does not fit, the
// run starts a new piece, twice the size of the last (up to PIECE_BYTES), so small key groups
// stay small and an entry never spans two pieces; segments are cut between pieces.

/** A run's pieces grow up to this size (and are larger only for an entry that needs it). */
export const PIECE_BYTES = 1 << 20
const FIRST_PIECE_BYTES = 4096

/** Bytes of a run and the entries they hold. */
export interface RunPiece {
  readonly bytes: Buffer
  readonly entries: number
}

export class KeyGroupRuns {
  private readonly current: Array<Buffer | undefined>
  private readonly done: Array<RunPiece[] | undefined>
  private readonly ends: Int32Array
  private readonly counts: Int32Array

  constructor(readonly keyGroups: number) {
    this.current = new Array(keyGroups).fill(undefined)
    this.done = new Array(keyGroups).fill(undefined)
    this.ends = new Int32Array(keyGroups)
    this.counts = new Int32Array(keyGroups)
  }

  /**
   * The buffer to write key group `kg`'s next entry of at most `need` bytes into, at end(kg).
   * Call added(kg, end) once it is written.
   */
  room(kg: number, need: number): Buffer {
    const buf = this.current[kg]
    if (buf !== undefined && this.ends[kg]! + need <= buf.length) return buf
    let size = FIRST_PIECE_BYTES
    if (buf !== undefined) {
      ;(this.done[kg] ??= []).push({ bytes: buf.subarray(0, this.ends[kg]), entries: this.counts[kg]! })
      size = Math.min(PIECE_BYTES, buf.length * 2)
    }
    const fresh = Buffer.allocUnsafe(Math.max(size, need))
    this.current[kg] = fresh
    this.ends[kg] = 0
    this.counts[kg] = 0
    return fresh
  }

  end(kg: number): number {
    return this.ends[kg]!
  }

  /** The entry written at end(kg) ends at `end`. */
  added(kg: number, end: number): void {
    this.ends[kg] = end
    this.counts[kg]!++
  }

  /** Key group `kg`'s pieces, in order, and forgets them (empty: none of its keys changed). */
  take(kg: number): RunPiece[] {
    const pieces = this.done[kg] ?? []
    const buf = this.current[kg]
    if (buf !== undefined && this.counts[kg]! > 0) pieces.push({ bytes: buf.subarray(0, this.ends[kg]), entries: this.counts[kg]! })
    this.done[kg] = undefined
    this.current[kg] = undefined
    return pieces
  }
}
