// Which keys have a partial aggregate in which slice, for the sliced window operator on event
// time: when the watermark passes a window's end, the operator fires that window for the keys of
// the slices it covers, instead of keeping one keyed timer per key and window (a sliding window
// of size/slide slices needs size/slide timers per key and slice, each a heap entry, an id string
// and a stored state entry). The index lives in memory only: it is rebuilt from the keyed slice
// state on a restore (that state, per key group, is what a checkpoint holds and a rescale splits).

export class SliceIndex {
  private readonly keysBySlice = new Map<number, unknown[]>()
  /** The slice ends that have keys, ascending. */
  private readonly ends: number[] = []

  /** `key` has a partial aggregate in the slice ending at `sliceEnd` (once per key and slice). */
  add(sliceEnd: number, key: unknown): void {
    let keys = this.keysBySlice.get(sliceEnd)
    if (keys === undefined) {
      keys = []
      this.keysBySlice.set(sliceEnd, keys)
      const ends = this.ends
      let i = ends.length
      // New slices come mostly in order: search from the end.
      while (i > 0 && ends[i - 1]! > sliceEnd) i--
      ends.splice(i, 0, sliceEnd)
    }
    keys.push(key)
  }

  keysOf(sliceEnd: number): readonly unknown[] | undefined {
    return this.keysBySlice.get(sliceEnd)
  }

  /** Forgets a slice (its last window fired and its allowed lateness is over). */
  drop(sliceEnd: number): void {
    if (!this.keysBySlice.delete(sliceEnd)) return
    const i = this.ends.indexOf(sliceEnd)
    if (i >= 0) this.ends.splice(i, 1)
  }

  /** The earliest slice end with keys, or Infinity. */
  first(): number {
    return this.ends.length > 0 ? this.ends[0]! : Infinity
  }

  /** The earliest slice end at or after `time` with keys, or Infinity. */
  firstAtOrAfter(time: number): number {
    for (const e of this.ends) if (e >= time) return e
    return Infinity
  }

  /** Number of slices with keys. */
  get size(): number {
    return this.ends.length
  }
}
