import { runKeyedStateBackendContract } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
runKeyedStateBackendContract('lmdb', ({ maxParallelism, now }) => new LmdbKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `contract-${crypto.randomUUID()}`, attempt: 0 }, { maxParallelism, operatorUid: 'op', subtaskIndex: 0 }, now))
