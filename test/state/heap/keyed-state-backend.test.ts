import { runKeyedStateBackendContract } from '../keyed-state-backend.contract.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
runKeyedStateBackendContract('hashmap', ({ maxParallelism, now }) => new HeapKeyedStateBackend(maxParallelism, now))
