// Child process of lmdb-large-state.test.ts: writes `keys` values of 1 KiB through the LMDB
// backend (run with a small --max-old-space-size), checks a sample, takes a checkpoint capture
// to make sure the synchronous phase stays short, and prints one JSON line with the figures.

import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'

const [localDir, keysArg] = process.argv.slice(2)
const keys = Number(keysArg ?? 2_200_000)
const started = performance.now()
const backend = new LmdbKeyedStateBackend({ type: 'lmdb', localDir: localDir!, incremental: false, jobId: 'large-state', attempt: 0 }, { maxParallelism: 128, operatorUid: 'big', subtaskIndex: 0 })
const state = backend.getState(new ValueStateDescriptor<Uint8Array>('blob'))

function valueOf(k: number): Uint8Array {
  const v = new Uint8Array(1024)
  for (let i = 0; i < 1024; i += 4) {
    v[i] = k & 0xff
    v[i + 1] = (k >> 8) & 0xff
    v[i + 2] = (k >> 16) & 0xff
    v[i + 3] = i & 0xff
  }
  return v
}

for (let k = 0; k < keys; k++) {
  backend.setCurrentKey(`key-${k}`)
  state.update(valueOf(k))
}
backend.flush()
const written = performance.now()
let checked = 0
for (let k = 0; k < keys; k += 997) {
  backend.setCurrentKey(`key-${k}`)
  const v = state.value()
  if (!(v instanceof Uint8Array) || Buffer.compare(Buffer.from(v), Buffer.from(valueOf(k))) !== 0) throw new Error(`key-${k}: wrong value read back`)
  checked++
}
const syncStart = performance.now()
backend.captureSnapshot(1, { savepoint: false })
const syncMs = performance.now() - syncStart
const result = {
  keys,
  fileBytes: backend.storedBytes(),
  checked,
  writeSeconds: (written - started) / 1000,
  syncPhaseMs: syncMs,
  heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
}
backend.dispose()
console.log(JSON.stringify(result))
