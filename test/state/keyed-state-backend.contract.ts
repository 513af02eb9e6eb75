// The contract every keyed state backend meets (heap, LMDB). Each implementation's test file
// runs it with a factory:
//
//   runKeyedStateBackendContract('hashmap', ({ maxParallelism, now }) => new HeapKeyedStateBackend(maxParallelism, now))
//
// The factory gets the max parallelism and a clock (TTL tests move it by hand). Snapshots pass
// through the checkpoint codec (encodeValue/decodeValue) before a restore, as they do between a
// checkpoint and a restart. Canonical snapshots are also exchanged with the heap backend, the
// reference implementation, in both directions.//
// Its parts are in contract/: state kinds and keys, TTL, snapshots and restores; fixtures.ts holds
// what they share.

import { describe, afterEach } from 'node:test'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../src/state/keyed-state-backend.ts'
import { HeapKeyedStateBackend } from '../../src/state/heap/keyed-state-backend.ts'
import { MAX_P, throughCodec, type BackendFactory, type ContractBackendOptions, type ContractContext } from './contract/fixtures.ts'
import { stateKindContract } from './contract/state-kinds.ts'
import { ttlContract } from './contract/ttl.ts'
import { snapshotContract } from './contract/snapshots.ts'

export { ManualClock, normalize, throughCodec, type BackendFactory, type ContractBackendOptions } from './contract/fixtures.ts'

export function runKeyedStateBackendContract(name: string, create: BackendFactory): void {
  describe(`keyed state backend contract: ${name}`, () => {
    const created: KeyedStateBackend[] = []
    const make = (options: Partial<ContractBackendOptions> = {}) => {
      const b = create({ maxParallelism: MAX_P, now: Date.now, ...options })
      created.push(b)
      return b
    }
    afterEach(() => {
      for (const b of created.splice(0)) b.dispose()
    })
    const ctx: ContractContext = {
      make,
      create,
      heap: (now: () => number = Date.now) => new HeapKeyedStateBackend(MAX_P, now),
      async savepoint(b: KeyedStateBackend, id = 1): Promise<KeyedStateSnapshot> {
        return throughCodec(await b.materializeSnapshot(b.captureSnapshot(id, { savepoint: true })))
      },
    }
    stateKindContract(ctx)
    ttlContract(ctx)
    snapshotContract(ctx)
  })
}
