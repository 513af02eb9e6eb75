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
  const composite = capture.compositeKeys
  for (const table of capture.tables) {
    const entries = new EntryChunkBuilder()
    const ttl = table.ttl
    const layers = table.view
    const copyInPlace = table.inPlace
    // The layers one after another, newest first; a key a newer layer holds is shadowed
    // (checked only below the first layer: after a fold, the only one). No generator: its
    // per-entry objects cost more than the entries' conversion.
    for (let i = 0; i < layers.length; i++) {
      for (const [mapKey, stored] of layers[i]!) {
        if (slices.due()) await slices.yield()
        if (stored === TOMBSTONE) continue
        if (i > 0 && shadowedAbove(layers, i, mapKey)) continue
        if (ttl && ttl.cleanupFullSnapshot && ttl.isExpired((stored as Timestamped).t, now)) continue
        const key = originalKey(composite, mapKey)
        const plain = ttl ? (stored as Timestamped).v : stored
        // A value changed in place may change once the capture is released, before the
        // canonical form is serialized: keep a copy of what the capture saw.
        const value = table.kind === 'map' ? [...(plain as Map<unknown, unknown>)] : copyInPlace && typeof plain === 'object' ? shallowCopy(plain) : plain
        entries.add(assignToKeyGroup(key, capture.maxParallelism), key, ttl ? [value, (stored as Timestamped).t] : value)
      }
    }
    states[table.name] = { kind: table.kind, ttl: ttl !== null, entries: entries.finish() }
  }
  return { format: 'canonical', maxParallelism: capture.maxParallelism, states }
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
