// Opens and closes the LMDB environment a backend works in (its working directory, see
// working-dir.ts), with the settings of a working copy: no fsync, no compression, raw
// buffers with the backend's own key encoding. A process that exits without dispose() still
// removes the directories of its live backends.

import { open, type RootDatabase } from 'lmdb'
import { rmSync } from 'node:fs'
import { ensureDirSync } from '../../io/directories.ts'
import { keyRefEncoder } from './lmdb-key-layout.ts'

/** Working directories of live backends, removed at process exit if dispose() was never called. */
const liveDirs = new Set<string>()
let exitHookInstalled = false

/** A fresh, empty environment in `dir` (whatever was there is removed first). */
export function openWorkingEnvironment(dir: string, pageSize: number): RootDatabase<Buffer, any> {
  // Directories left by a process or worker that ended without dispose() hold nothing we can use.
  rmSync(dir, { recursive: true, force: true })
  ensureDirSync(dir)
  liveDirs.add(dir)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
    })
  }
  return open({
    path: dir,
    noSubdir: false,
    pageSize,
    keyEncoder: keyRefEncoder,
    encoding: 'binary',
    compression: false,
    cache: false,
    // A working copy: durability comes from checkpoints, so no fsync.
    noSync: true,
    noMetaSync: true,
    noMemInit: true,
    overlappingSync: false,
    // Asynchronous commits (commits-in-flight.ts) must start and land while the task thread runs
    // on without yielding: no batch that waits for the end of the event turn. lmdb-js hands a
    // batch to its write thread from this thread only once more than batchStartThreshold of its
    // writes are queued, and then once more than txnStartThreshold writes are outstanding; below
    // that (1 000 and 5 by default) it starts on setImmediate, which a task that never yields,
    // or a synchronous wait for the batch (flush, restore, back-pressure), never reaches: the
    // wait ran out and failed the task. With both at 1 a batch of two writes or more starts at
    // once (commits-in-flight.ts writes at least two).
    eventTurnBatching: false,
    batchStartThreshold: 1,
    txnStartThreshold: 1,
  } as Parameters<typeof open>[0]) as RootDatabase<Buffer, any>
}

/** Closes the environment and removes its directory. */
export function closeWorkingEnvironment(dir: string, db: RootDatabase<Buffer, any>): void {
  try {
    void db.close()
  } catch {
    // Closing fails only if it is already closed.
  }
  rmSync(dir, { recursive: true, force: true })
  liveDirs.delete(dir)
}
