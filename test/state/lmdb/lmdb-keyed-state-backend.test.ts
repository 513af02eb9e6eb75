import { runKeyedStateBackendContract } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { lmdbBackends } from './fixtures.ts'
runKeyedStateBackendContract('lmdb', ({ maxParallelism, now }) => new LmdbKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `contract-${crypto.randomUUID()}`, attempt: 0 }, { maxParallelism, operatorUid: 'op', subtaskIndex: 0 }, now))
// The contract's data is far below ASYNC_MIN_WRITES: with asyncMinWrites 0 every commit is an
// asynchronous batch on lmdb-js's write thread (committing layer, marker, commits in flight),
// every few writes (flushEvery) and at every flush, capture and restore.
const asyncBackends = lmdbBackends('contract-async', { asyncMinWrites: 0 })
runKeyedStateBackendContract('lmdb, every commit asynchronous', ({ now }) => asyncBackends({ now }))
runKeyedStateBackendContract('lmdb, every commit asynchronous, commit every 3 writes, incremental', ({ now }) => asyncBackends({ now, flushEvery: 3, incremental: true }))
runKeyedStateBackendContract('lmdb, every commit asynchronous, a cache of 3 entries', ({ now }) => asyncBackends({ now, cacheSize: 3 }))

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeyedStateBackend } from '../../../src/state/backend-factory.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'

test('state.backend.lmdb.cache-size bounds the cached entries, and writes are committed every half as many', () => {
  const make = (lmdbCacheSize?: number) => createKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `cache-${crypto.randomUUID()}`, attempt: 0, lmdbCacheSize }, { maxParallelism: 128, operatorUid: 'op', subtaskIndex: 0 }) as LmdbKeyedStateBackend
  for (const [size, heldAfterThree] of [[undefined, 3], [4, 1], [1, 0]] as const) {
    const b = make(size)
    try {
      const s = b.getState(new ValueStateDescriptor<number>('v', 0))
      for (let k = 0; k < 3; k++) {
        b.setCurrentKey(k)
        s.update(k + 1)
      }
      assert.equal(b.pendingEntries, heldAfterThree, `cache-size ${size ?? 'default'}: writes held`)
      for (let k = 3; k < 50; k++) {
        b.setCurrentKey(k)
        s.update(s.value() + k)
      }
      assert.ok(b.cachedEntries <= (size ?? 100_000), `cache-size ${size ?? 'default'}: ${b.cachedEntries} entries cached`)
      for (let k = 0; k < 50; k++) {
        b.setCurrentKey(k)
        assert.equal(s.value(), k < 3 ? k + 1 : k, `cache-size ${size ?? 'default'}: key ${k}`)
      }
    } finally {
      b.dispose()
    }
  }
})
