// Flink's MergingWindowSet for session windows: per key, which window each current window's
// contents are stored under (its state window), so merging two windows moves no contents until
// it must. It lives in a map state of the keyed backend (window namespace -> state window
// namespace), so merges survive a checkpoint and a restore, and rescale with the key.

import type { MapState } from '../../api/state.ts'
import { TimeWindow, windowFromNamespace, windowNamespace, type Window } from '../../api/windowing/windows.ts'

export type MergeFunction = (mergeResult: string, mergedWindows: string[], stateWindowResult: string, mergedStateWindows: string[]) => void

export class MergingWindowSet {
  private readonly mapping = new Map<string, string>()
  private changed = false

  constructor(private readonly state: MapState<string, string>, private readonly mergeWindows: (windows: readonly Window[], cb: (toBeMerged: Window[], result: Window) => void) => void) {
    for (const [w, s] of state.entries()) this.mapping.set(w, s)
  }

  getStateWindow(window: string): string | undefined {
    return this.mapping.get(window)
  }

  retireWindow(window: string): void {
    if (this.mapping.delete(window)) this.changed = true
  }

  /**
   * Adds a window, merging it with the windows it overlaps; `merge` is called for each merge
   * with the merged windows and their state windows. Returns the window the new one ended up in.
   */
  addWindow(newWindow: string, merge: MergeFunction): string {
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
          mergedStateWindows.push(s)
        }
      }
      this.mapping.set(mergeResult, mergedStateWindow)
      this.changed = true
      const keep = mergedStateWindows.indexOf(mergedStateWindow)
      if (keep >= 0) mergedStateWindows.splice(keep, 1)
      // A pre-existing window merged with nothing but the new window, which it already covers: nothing to merge.
      if (!(merged.includes(mergeResult) && merged.length === 1)) merge(mergeResult, merged, mergedStateWindow, mergedStateWindows)
    }
    if (results.length === 0 || (resultWindow === newWindow && !mergedNewWindow)) {
      this.mapping.set(resultWindow, resultWindow)
      this.changed = true
    }
    return resultWindow
  }

  /** Writes the mapping back to keyed state if it changed. */
  persist(): void {
    if (!this.changed) return
    this.state.clear()
    if (this.mapping.size > 0) this.state.putAll(this.mapping)
    this.changed = false
  }
}

export { TimeWindow }
