// Fresh LMDB backends for a test file: working copies and shared checkpoint files under one
// temporary directory, removed after the file's tests; every backend a job of its own.

import { after } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbKeyedStateBackend, type LmdbBackendOptions } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'

export interface TestBackendOptions extends LmdbBackendOptions {
  readonly incremental?: boolean
  /** The clock TTL reads (default Date.now). */
  readonly now?: () => number
}

/** A factory of backends at max parallelism `maxParallelism`; `defaults` apply to each unless its own options say otherwise. */
export function lmdbBackends(name: string, defaults: TestBackendOptions = {}, maxParallelism = 128): (options?: TestBackendOptions) => LmdbKeyedStateBackend {
  const root = mkdtempSync(join(tmpdir(), `weir-lmdb-${name}-test-`))
  after(() => rmSync(root, { recursive: true, force: true }))
  let n = 0
  return (options = {}) => {
    const o = { ...defaults, ...options }
    return new LmdbKeyedStateBackend(
      { type: 'lmdb', localDir: join(root, 'local'), incremental: o.incremental ?? false, jobId: `${name}-${n++}`, attempt: 0, sharedDir: join(root, 'shared') },
      { maxParallelism, operatorUid: 'op', subtaskIndex: 0 },
      o.now ?? Date.now,
      o,
    )
  }
}
