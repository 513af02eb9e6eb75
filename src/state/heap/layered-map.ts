// The heap backend's table of one state: a Map of entries with copy-on-write snapshots in the
// manner of Flink's CopyOnWriteStateMap, without copying anything at the snapshot. Between
// snapshots every write goes to `live`. A snapshot freezes the current layers in O(1): `live`
// becomes the newest frozen layer and a fresh empty Map takes its place, so the snapshot's
// view (the frozen layers, newest first) never changes while the task keeps writing. A frozen
// layer thus holds the entries written in one version; a key written after the snapshot gets
// its new version in `live` the first time it is touched, and deleting a key that an older
// layer holds writes a tombstone. Reads look at `live`, then the frozen layers, newest first.
//
// When no snapshot pins the frozen layers any more, they are folded into the oldest one (the
// base) in bounded slices on the task thread, between records (`foldSome`); a read sees the
// same value during the fold, since a key's newer layer stays in place until its fold is
// finished. With incremental checkpoints the layer `live` is also the set of keys changed since
// the last snapshot, so it is kept apart from the base; otherwise it is folded in too, and the
// table returns to a single Map (`frozen` empty), the cheapest form for reads. While `live` is
// folded in, writes go straight to the base (no snapshot can see it) and take their key out of
// `live`, so that `live` only shrinks and the fold ends.

/** A deleted key, in a layer above one that holds it. */
export const TOMBSTONE: unique symbol = Symbol('deleted')

/** The layers a snapshot pinned, newest first: immutable while pinned. */
export type FrozenView = readonly ReadonlyMap<unknown, unknown>[]

/** Fold slices stop after this many entries once their time is up. */
const FOLD_CHECK = 1024

export class LayeredMap {
  /** `check`: entries between deadline checks (small in tests, to exercise resumed folds). */
  constructor(private readonly tuning: { readonly check: number } = { check: FOLD_CHECK }) {}

  /** Where writes go. With `frozen` empty it holds every entry. */
  live = new Map<unknown, unknown>()
  /** Older layers, newest first; the last one is the base. */
  frozen: Map<unknown, unknown>[] = []
  /** The layer the last freeze() made of `live`: the writes since the freeze before (null: none). */
  lastFrozen: ReadonlyMap<unknown, unknown> | null = null
  /** Snapshots holding the frozen layers: nothing is folded while there are any. */
  private pins = 0
  /**
   * A fold under way: the layer above the base and where in it the last slice stopped. Layers
   * are never changed once frozen (incremental snapshots keep them as change sets), so the
   * iterator stays valid across slices; a slice goes on from it instead of walking past what the
   * slices before it folded (that walk, without a deadline check, held the task for tens of
   * milliseconds per slice on millions of entries).
   */
  private foldLayer: ReadonlyMap<unknown, unknown> | null = null
  private foldCursor: Iterator<[unknown, unknown]> | null = null
  /**
   * The base while `live` is being folded into it with nothing pinned: writes go there and
   * delete their key from `live`. Before, writes refilled `live` behind the fold (a folded key
   * came back with its next write), and a job writing every key within a fold's time kept the
   * fold going until the next checkpoint: 30 % of the thread of a 94 K-key job at 1.7 M writes
   * a second. A freeze ends it: the base is a snapshot's again.
   */
  writeThrough: Map<unknown, unknown> | null = null

  get(key: unknown): unknown {
    const v = this.live.get(key)
    if (v !== undefined) return v === TOMBSTONE ? undefined : v
    return this.getBelowLive(key)
  }

  /** get() for a key `live` is known not to hold: the frozen layers only. */
  getBelowLive(key: unknown): unknown {
    const frozen = this.frozen
    for (let i = 0; i < frozen.length; i++) {
      const f = frozen[i]!.get(key)
      if (f !== undefined) return f === TOMBSTONE ? undefined : f
    }
    return undefined
  }

  set(key: unknown, value: unknown): void {
    const through = this.writeThrough
    if (through === null) {
      this.live.set(key, value)
      return
    }
    through.set(key, value)
    this.live.delete(key)
  }

  delete(key: unknown): void {
    if (this.frozen.length === 0) this.live.delete(key)
    else if (this.writeThrough !== null) {
      this.writeThrough.delete(key)
      this.live.delete(key)
    } else this.live.set(key, TOMBSTONE)
  }

  /** Freezes the current layers for a snapshot, in O(1); `release` them when done. */
  freeze(): FrozenView {
    // A fold of `live` under way goes on later from its cursor, over the layer `live` becomes.
    this.writeThrough = null
    this.lastFrozen = null
    if (this.live.size > 0 || this.frozen.length === 0) {
      // A fold under way continues on the same layers later (their order is unchanged).
      this.frozen.unshift(this.live)
      this.lastFrozen = this.live
      this.live = new Map()
    }
    this.pins++
    return this.frozen.slice()
  }

  release(): void {
    if (this.pins > 0) this.pins--
  }

  /** Whether folding has work to do now. */
  needsFold(keepLive: boolean): boolean {
    return this.pins === 0 && (this.frozen.length > 1 || (!keepLive && this.frozen.length === 1))
  }

  /**
   * Folds layers into the base until `deadline` (performance.now()). With `keepLive` false,
   * `live` is folded too at the end, back to one Map. Returns whether more is left to do.
   */
  foldSome(deadline: number, keepLive: boolean): boolean {
    if (this.pins > 0) return false
    const frozen = this.frozen
    while (frozen.length > 1) {
      if (this.foldInto(frozen[frozen.length - 1]!, frozen[frozen.length - 2]!, deadline)) return true
      frozen.splice(frozen.length - 2, 1)
    }
    if (keepLive || frozen.length === 0) return false
    const base = frozen[0]!
    // From here on `live` only loses keys (writes go to the base), so one walk of it ends.
    this.writeThrough = base
    if (this.foldInto(base, this.live, deadline)) return true
    this.writeThrough = null
    this.live = base
    this.frozen = []
    return false
  }

  /**
   * Folds `layer` into `base` from where the last slice stopped; true when `deadline` came
   * first. Entries already folded stay in the layer: they are equal to the base's now.
   */
  private foldInto(base: Map<unknown, unknown>, layer: ReadonlyMap<unknown, unknown>, deadline: number): boolean {
    if (this.foldLayer !== layer || this.foldCursor === null) {
      this.foldLayer = layer
      this.foldCursor = layer.entries()
    }
    const cursor = this.foldCursor
    let n = 0
    for (let step = cursor.next(); !step.done; step = cursor.next()) {
      const [k, v] = step.value
      if (v === TOMBSTONE) base.delete(k)
      else base.set(k, v)
      if (++n % this.tuning.check === 0 && performance.now() > deadline) return true
    }
    this.foldLayer = null
    this.foldCursor = null
    return false
  }

  /** Every visible entry (for inspection, restores and TTL changes; not the hot path). */
  *entries(): IterableIterator<[unknown, unknown]> {
    yield* visibleEntries([this.live, ...this.frozen])
  }

  /** The layer TTL cleanup walks: the base (or the only Map). */
  oldest(): Map<unknown, unknown> {
    return this.frozen.length > 0 ? this.frozen[this.frozen.length - 1]! : this.live
  }

  clear(): void {
    this.live = new Map()
    this.frozen = []
    this.foldLayer = null
    this.foldCursor = null
    this.writeThrough = null
  }
}

/** The entries a stack of layers (newest first) shows: the newest version of each key, no tombstones. */
export function* visibleEntries(layers: FrozenView): IterableIterator<[unknown, unknown]> {
  for (let i = 0; i < layers.length; i++) {
    for (const [k, v] of layers[i]!) {
      if (v !== TOMBSTONE && !shadowedAbove(layers, i, k)) yield [k, v]
    }
  }
}

/**
 * Whether a layer newer than layers[i] holds `key` (a value or a tombstone): then layers[i]'s
 * entry is not the visible one. Snapshot walks over millions of entries call this in their own
 * loops (a generator's per-entry objects cost more than the entries' conversion).
 */
export function shadowedAbove(layers: FrozenView, i: number, key: unknown): boolean {
  for (let j = 0; j < i; j++) if (layers[j]!.has(key)) return true
  return false
}
