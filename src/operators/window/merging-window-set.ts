// Flink's MergingWindowSet for session windows: per key, which window each current window's
// contents are stored under (its state window), so merging two windows moves no contents until
// it must. It lives in a map state of the keyed backend (window namespace -> state window
// namespace), so merges survive a checkpoint and a restore, and rescale with the key.

import type { MapState } from '../../api/state.ts'
import { TimeWindow, windowFromNamespace, windowNamespace, type Window } from '../../api/windowing/windows.ts'

export type MergeFunction = (mergeResult: string, mergedWindows: string[], stateWindowResult: string, mergedStateWindows: string[]) => void

export class MergingWindowSet {
  private readonly mapping = new Map<string, string>()
  /** What changed since the set was read: window -> state window, or null when it was removed. */
  private readonly changes = new Map<string, string | null>()

  /**
   * `byOverlap`: mergeWindows is TimeWindow.mergeWindows (overlapping windows merge into their
   * cover), so a key with one window, the common case of sessions, is merged without it.
   */
  constructor(
    private readonly state: MapState<string, string>,
    private readonly mergeWindows: (windows: readonly Window[], cb: (toBeMerged: Window[], result: Window) => void) => void,
    private readonly byOverlap = false,
  ) {
    for (const [w, s] of state.entries()) this.mapping.set(w, s)
  }

  getStateWindow(window: string): string | undefined {
    return this.mapping.get(window)
  }

  retireWindow(window: string): void {
    if (this.mapping.delete(window)) this.changes.set(window, null)
  }

  /**
   * Adds a window, merging it with the windows it overlaps; `merge` is called for each merge
   * with the merged windows and their state windows. Returns the window the new one ended up in.
   */
  addWindow(newWindow: string, merge: MergeFunction): string {
    if (this.byOverlap && this.mapping.size === 1) return this.addToOne(newWindow, merge)
    const windows = [...this.mapping.keys(), newWindow].map(windowFromNamespace)
    const results: Array<[string, string[]]> = []
    this.mergeWindows(windows, (toBeMerged, result) => results.push([windowNamespace(result), toBeMerged.map(windowNamespace)]))
    let resultWindow = newWindow
    let mergedNewWindow = false
    for (const [mergeResult, merged] of results) {
      const at = merged.indexOf(newWindow)
      if (at >= 0) {
        merged.splice(at, 1)
        mergedNewWindow = true
        resultWindow = mergeResult
      }
      // The merge result keeps the state window of one of the windows it absorbs.
      const mergedStateWindow = this.mapping.get(merged[0]!)!
      const mergedStateWindows: string[] = []
      for (const w of merged) {
        const s = this.mapping.get(w)
        if (s !== undefined) {
          this.mapping.delete(w)
          this.changes.set(w, null)
          mergedStateWindows.push(s)
        }
      }
      this.mapping.set(mergeResult, mergedStateWindow)
      this.changes.set(mergeResult, mergedStateWindow)
      const keep = mergedStateWindows.indexOf(mergedStateWindow)
      if (keep >= 0) mergedStateWindows.splice(keep, 1)
      // A pre-existing window merged with nothing but the new window, which it already covers: nothing to merge.
      if (!(merged.includes(mergeResult) && merged.length === 1)) merge(mergeResult, merged, mergedStateWindow, mergedStateWindows)
    }
    if (results.length === 0 || (resultWindow === newWindow && !mergedNewWindow)) {
      this.mapping.set(resultWindow, resultWindow)
      this.changes.set(resultWindow, resultWindow)
    }
    return resultWindow
  }

  /** addWindow with one window in the set: what the general path does with [it, newWindow]. */
  private addToOne(newWindow: string, merge: MergeFunction): string {
    let existing = ''
    let stateWindow = ''
    for (const [w, s] of this.mapping) {
      existing = w
      stateWindow = s
    }
    if (existing === newWindow) return existing
    const a = windowFromNamespace(existing) as TimeWindow
    const b = windowFromNamespace(newWindow) as TimeWindow
    if (!a.intersects(b)) {
      this.mapping.set(newWindow, newWindow)
      this.changes.set(newWindow, newWindow)
      return newWindow
    }
    const cover = windowNamespace(a.cover(b))
    // The existing window already covers the new one: nothing changes.
    if (cover === existing) return existing
    this.mapping.delete(existing)
    this.changes.set(existing, null)
    this.mapping.set(cover, stateWindow)
    this.changes.set(cover, stateWindow)
    merge(cover, [existing], stateWindow, [])
    return cover
  }

  /**
   * Writes what changed back to keyed state: entry by entry, puts before removes, so that the
   * stored map is changed in place rather than replaced by a new one (a session that grows by
   * one element swaps one entry for another).
   */
  persist(): void {
    const changes = this.changes
    if (changes.size === 0) return
    for (const [w, s] of changes) if (s !== null) this.state.put(w, s)
    for (const [w, s] of changes) if (s === null) this.state.remove(w)
    changes.clear()
  }
}

export { TimeWindow }
