// Which shared files of LMDB incremental checkpoints may be deleted: pure decisions, no I/O.
// A shared file (a segment, see segment-file.ts) is referenced by every checkpoint whose chain
// includes it; it may go once no retained checkpoint references it. The coordinator reads the
// facts (the keyed snapshots of the checkpoints it retains; the files of the checkpoints it
// discards, or a listing of <job-id>/shared/), calls unreferencedSharedFiles, and deletes what
// it returns.
//
// A file written for a checkpoint that is still in flight is referenced by nothing yet: with a
// directory listing as candidates, pass `inFlightAfter` (the newest checkpoint id that completed
// or was aborted) so that files of later checkpoints are kept. Files are matched by name: names
// are unique per backend instance (random part), so paths need not be normalised.

import { basename, join } from 'node:path'
import type { KeyedStateSnapshot } from '../keyed-state-backend.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { checkpointIdOfSegment } from './segment-file.ts'
import { HEAP_INCREMENTAL_FORMAT } from '../heap/heap-incremental-format.ts'

/** Every shared file a keyed snapshot references (absolute paths); none for canonical snapshots. The heap backend's incremental snapshots have the same shape and segments. */
export function sharedFilesOf(snapshot: KeyedStateSnapshot): string[] {
  if (snapshot.format !== LMDB_INCREMENTAL_FORMAT && snapshot.format !== HEAP_INCREMENTAL_FORMAT) return []
  const s = snapshot as unknown as LmdbIncrementalSnapshot
  const names = [...s.base, ...s.deltas.flatMap((d) => d.segments)].map((r) => r.name)
  return names.map((n) => join(s.sharedDir, n))
}

/** Bytes of the shared files a keyed snapshot references, and of those written for `checkpointId`. */
export function sharedBytesOf(snapshot: KeyedStateSnapshot, checkpointId: number): { total: number; written: number } {
  if (snapshot.format !== LMDB_INCREMENTAL_FORMAT && snapshot.format !== HEAP_INCREMENTAL_FORMAT) return { total: 0, written: 0 }
  const s = snapshot as unknown as LmdbIncrementalSnapshot
  let total = 0
  let written = 0
  for (const r of [...s.base, ...s.deltas.flatMap((d) => d.segments)]) {
    total += r.bytes
    if (checkpointIdOfSegment(r.name) === checkpointId) written += r.bytes
  }
  return { total, written }
}

export interface UnreferencedOptions {
  /**
   * Keep candidates written for checkpoints with a higher id (they may belong to a checkpoint
   * still in flight). Unset: every unreferenced candidate is listed, which is right when the
   * candidates are the files of discarded checkpoints, not a directory listing.
   */
  readonly inFlightAfter?: number
}

/**
 * The candidates (paths or names) that no retained snapshot references and that may be
 * deleted. A candidate that is not an LMDB segment's name (nor a temporary file of one) is never
 * listed.
 */
export function unreferencedSharedFiles(retained: Iterable<KeyedStateSnapshot>, candidates: Iterable<string>, options: UnreferencedOptions = {}): string[] {
  const referenced = new Set<string>()
  for (const snapshot of retained) for (const path of sharedFilesOf(snapshot)) referenced.add(basename(path))
  const out: string[] = []
  for (const candidate of candidates) {
    const name = basename(candidate)
    const segment = name.replace(/\.tmp-[0-9a-f]+$/, '')
    const checkpointId = checkpointIdOfSegment(segment)
    if (checkpointId === null) continue
    if (referenced.has(segment) && segment === name) continue
    if (options.inFlightAfter !== undefined && checkpointId > options.inFlightAfter) continue
    out.push(candidate)
  }
  return out
}
