// The LMDB backend's canonical snapshot (savepoints, and checkpoints unless incremental): every
// entry of a capture's view, decoded into the backend-neutral form both backends read.

import type { CanonicalStateEntries, KeyedStateSnapshot } from '../keyed-state-backend.ts'
import { decodeKey, decodedEnd } from './key-codec.ts'
import { mergedScan, rawOverlay, type CaptureContext, type CaptureTable, type LmdbCapture } from './capture-view.ts'
import { unpackr } from './write-generations.ts'
import { EntryChunkBuilder } from '../entry-chunks.ts'

export async function writeCanonical(ctx: CaptureContext, capture: LmdbCapture): Promise<KeyedStateSnapshot> {
  const states: Record<string, CanonicalStateEntries> = {}
  // Entries in chunks, as on the heap (entry-chunks.ts): one growing array of millions held the thread each time it grew.
  const byId = new Map<number, { t: CaptureTable; flat: EntryChunkBuilder }>()
  for (const t of capture.tables) byId.set(t.id, { t, flat: new EntryChunkBuilder() })
  const now = ctx.now()
  // A map is emitted when the scan leaves its user key.
  let open: { flat: EntryChunkBuilder; t: CaptureTable; kg: number; key: unknown; prefix: Buffer; time: number | undefined; pairs: Array<[unknown, unknown]> } | null = null
  const closeMap = () => {
    if (open === null) return
    const o = open
    open = null
    if (o.pairs.length === 0) return
    if (o.t.timestamped) {
      const time = o.time ?? now
      if (o.t.ttl !== null && o.t.ttl.cleanupFullSnapshot && o.t.ttl.isExpired(time, now)) return
      o.flat.add(o.kg, o.key, [o.pairs, time])
    } else {
      o.flat.add(o.kg, o.key, o.pairs)
    }
  }
  await mergedScan(ctx, capture, await rawOverlay(ctx, capture), (key, value) => {
    const sid = (key[2]! << 8) | key[3]!
    const entry = byId.get(sid)
    if (entry === undefined) return
    const { t, flat } = entry
    const kg = (key[0]! << 8) | key[1]!
    if (t.kind === 'map') {
      const o = open as typeof open
      if (o !== null && o.t === t && key.length > o.prefix.length && key.compare(o.prefix, 0, o.prefix.length, 0, o.prefix.length) === 0) {
        o.pairs.push([decodeKey(key, o.prefix.length), unpackr.unpack(value)])
        return
      }
      closeMap()
      const uk = decodeKey(key, 4)
      const ukEnd = decodedEnd
      const next: NonNullable<typeof open> = { flat, t, kg, key: uk, prefix: Buffer.from(key.subarray(0, ukEnd)), time: undefined, pairs: [] }
      if (ukEnd === key.length) next.time = value.readDoubleBE(0)
      else next.pairs.push([decodeKey(key, ukEnd), unpackr.unpack(value)])
      open = next
      return
    }
    closeMap()
    const uk = decodeKey(key, 4)
    if (t.timestamped) {
      const time = value.readDoubleBE(0)
      if (t.ttl !== null && t.ttl.cleanupFullSnapshot && t.ttl.isExpired(time, now)) return
      flat.add(kg, uk, [unpackr.unpack(value, { start: 8, end: value.length }), time])
    } else {
      flat.add(kg, uk, unpackr.unpack(value))
    }
  })
  closeMap()
  for (const { t, flat } of byId.values()) states[t.name] = { kind: t.kind, ttl: t.timestamped, entries: flat.finish() }
  return { format: 'canonical', maxParallelism: ctx.maxParallelism, states }
}
