// The canonical form of a heap backend's capture (every checkpoint without incremental mode,
// and every savepoint): per state, [key group, key, value] entries (in chunks) of the capture's frozen
// view, newest layer first, keys a newer layer holds skipped, expired TTL values dropped (when
// the TTL cleans up in full snapshots). Converted on the task thread in slices.

import type { StateKind } from '../../api/state.ts'
import { assignToKeyGroup } from '../key-groups.ts'
import type { CanonicalStateEntries, KeyedStateSnapshot, TtlPolicy } from '../keyed-state-backend.ts'
import { TaskSlices } from '../task-slices.ts'
import { EntryChunkBuilder } from '../entry-chunks.ts'
import { shadowedAbove, TOMBSTONE, type FrozenView } from './layered-map.ts'
import type { Timestamped } from './keyed-state-backend.ts'

/** What a canonical conversion reads of a capture. */
export interface CanonicalCapture {
  readonly tables: ReadonlyArray<{ readonly name: string; readonly kind: StateKind; readonly ttl: TtlPolicy | null; readonly view: FrozenView; readonly inPlace: boolean }>
  /** Original form of composite keys by their stored JSON text; shared with the backend: it only grows, and a key's original form never changes. */
  readonly compositeKeys: ReadonlyMap<string, unknown>
  readonly maxParallelism: number
}

/** The canonical form of a capture; yields to the task every `sliceMs` milliseconds (Infinity: in one go). */
export async function canonicalHeapSnapshot(capture: CanonicalCapture, now: number, sliceMs = Infinity): Promise<KeyedStateSnapshot> {
  const states: Record<string, CanonicalStateEntries> = {}
  const slices = new TaskSlices(sliceMs)
  for (const table of capture.tables) {
    const entries = new EntryChunkBuilder()
    const layers = table.view
    // The layers one after another, newest first; a key a newer layer holds is shadowed
    // (checked only below the first layer: after a fold, the only one).
    for (let i = 0; i < layers.length; i++) {
      const walk = layers[i]!.entries()
      while (!convertLayer(walk, i, table, capture, now, entries, slices)) await slices.yield()
    }
    states[table.name] = { kind: table.kind, ttl: table.ttl !== null, entries: entries.finish() }
  }
  return { format: 'canonical', maxParallelism: capture.maxParallelism, states }
}

/**
 * Adds the visible entries of layer `i` that `walk` yields until the layer ends (true) or the
 * slice is over (false: call again after yielding). A synchronous loop of its own: the same loop
 * in the async function above, with an await in it, took a fifth longer for 2 M integer keys. No generator
 * either: its per-entry objects cost more than the entries' conversion.
 */
function convertLayer(walk: Iterator<[unknown, unknown]>, i: number, table: CanonicalCapture['tables'][number], capture: CanonicalCapture, now: number, entries: EntryChunkBuilder, slices: TaskSlices): boolean {
  const composite = capture.compositeKeys
  const layers = table.view
  const ttl = table.ttl
  const copyInPlace = table.inPlace
  for (let step = walk.next(); !step.done; step = walk.next()) {
    const [mapKey, stored] = step.value
    if (stored !== TOMBSTONE && !(i > 0 && shadowedAbove(layers, i, mapKey)) && !(ttl && ttl.cleanupFullSnapshot && ttl.isExpired((stored as Timestamped).t, now))) {
      const key = originalKey(composite, mapKey)
      const plain = ttl ? (stored as Timestamped).v : stored
      // A value changed in place may change once the capture is released, before the
      // canonical form is serialized: keep a copy of what the capture saw.
      const value = table.kind === 'map' ? [...(plain as Map<unknown, unknown>)] : copyInPlace && typeof plain === 'object' ? shallowCopy(plain) : plain
      entries.add(assignToKeyGroup(key, capture.maxParallelism), key, ttl ? [value, (stored as Timestamped).t] : value)
    }
    if (slices.due()) return false
  }
  return true
}

/** A shallow copy of an array or plain object (other values as they are). */
function shallowCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.slice()
  if (typeof value === 'object' && value !== null) return { ...value }
  return value
}

/** A key as the user's selector returned it: composite keys are stored under their JSON text. */
export function originalKey(composite: ReadonlyMap<string, unknown>, mapKey: unknown): unknown {
  return typeof mapKey === 'string' && composite.size > 0 && composite.has(mapKey) ? composite.get(mapKey) : mapKey
}
