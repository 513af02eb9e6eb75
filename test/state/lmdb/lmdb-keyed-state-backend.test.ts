import { runKeyedStateBackendContract } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
runKeyedStateBackendContract('lmdb', ({ maxParallelism, now }) => new LmdbKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `contract-${crypto.randomUUID()}`, attempt: 0 }, { maxParallelism, operatorUid: 'op', subtaskIndex: 0 }, now))

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeyedStateBackend } from '../../../src/state/backend-factory.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'

test('state.backend.lmdb.cache-size bounds the writes held in memory before a commit', () => {
  const make = (lmdbCacheSize?: number) => createKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `cache-${crypto.randomUUID()}`, attempt: 0, lmdbCacheSize }, { maxParallelism: 128, operatorUid: 'op', subtaskIndex: 0 }) as LmdbKeyedStateBackend
  for (const [size, heldAfterThree] of [[undefined, 3], [2, 1], [1, 0]] as const) {
    const b = make(size)
    try {
      const s = b.getState(new ValueStateDescriptor<number>('v', 0))
      for (let k = 0; k < 3; k++) {
        b.setCurrentKey(k)
        s.update(k + 1)
      }
      assert.equal(b.pendingEntries, heldAfterThree, `cache-size ${size ?? 'default'}`)
      b.setCurrentKey(2)
      assert.equal(s.value(), 3)
    } finally {
      b.dispose()
    }
  }
})
