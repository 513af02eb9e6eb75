// Creates the keyed state backend that state.backend.type names, for one keyed operator of one
// subtask.

import type { KeyedStateBackend } from './keyed-state-backend.ts'
import { randomBytes } from 'node:crypto'
import { HeapKeyedStateBackend } from './heap/keyed-state-backend.ts'

export interface BackendSettings {
  readonly type: 'hashmap' | 'lmdb'
  /** LMDB: where working directories go (state.backend.lmdb.localdir); both backends: whether checkpoints are incremental. */
  readonly localDir: string | null
  readonly incremental: boolean
  /** LMDB: entries of its cache of decoded values; writes are committed every half as many (state.backend.lmdb.cache-size; default 100 000). */
  readonly lmdbCacheSize?: number
  readonly jobId: string
  readonly attempt: number
  /**
   * Incremental checkpoints: where files shared between checkpoints go,
   * `<execution.checkpointing.dir>/<job-id>/shared` (checkpoint/protocol/paths.ts sharedDir); null or
   * absent when checkpoints are not stored in a file system (incremental checkpoints then fall
   * back to the canonical format).
   */
  readonly sharedDir?: string | null
}

export interface BackendScope {
  readonly maxParallelism: number
  readonly operatorUid: string
  readonly subtaskIndex: number
}

export function createKeyedStateBackend(settings: BackendSettings, scope: BackendScope): KeyedStateBackend {
  switch (settings.type) {
    case 'hashmap':
      return new HeapKeyedStateBackend(scope.maxParallelism, Date.now, settings.incremental && settings.sharedDir ? {
        sharedDir: settings.sharedDir,
        filePrefix: `heap-${scope.operatorUid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}-${scope.subtaskIndex}-${randomBytes(6).toString('hex')}`,
      } : null)
    case 'lmdb':
      return lmdbFactory!(settings, scope)
  }
}

/** Set by the LMDB backend's module when it is loaded (it pulls in a native addon, so only on demand). */
let lmdbFactory: ((settings: BackendSettings, scope: BackendScope) => KeyedStateBackend) | null = null

export function registerLmdbBackend(factory: (settings: BackendSettings, scope: BackendScope) => KeyedStateBackend): void {
  lmdbFactory = factory
}
