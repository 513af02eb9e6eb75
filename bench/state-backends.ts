// Micro-benchmark of the keyed state backends, through the KeyedStateBackend API as a keyed
// operator uses it (setCurrentKey per record, then a ValueState read and update):
//
//   count        keyed count over --keys distinct keys, --records updates (default 2 per key),
//                keys drawn uniformly at random (--dist uniform; the worst case for any cache)
//                or Zipf-distributed (--dist zipf, like words): updates/s on hashmap and lmdb,
//                and the ratio; memory: heap at the end, heap and external (Buffers) at their
//                highest, the peak resident set
//   checkpoint   --state-mb of state (1 KiB values): on lmdb a full incremental checkpoint, then
//                one after changing 1 % of the keys (bytes, synchronous-phase pause, asynchronous
//                duration), a savepoint (canonical), and restores from both (MB/s); on hashmap
//                its checkpoint (canonical) and restore, for comparison
//
//   job          a keyed job's task thread in one process: records (a ValueState read and update
//                per record, keys uniform over --job-keys, 2 M by default) processed in 5 ms turns
//                chained with setImmediate, as a slot's task loop runs, with a checkpoint every 1 s
//                taken as a task takes it (synchronous capture in a turn, then materialize,
//                serialize in slices and write the chunks to a file outside the turns, one
//                checkpoint at a time) on
//                hashmap (full), hashmap incremental and lmdb incremental, each against the same backend without checkpoints: throughput
//                ratio, checkpoint durations, and the longest pause of the task thread (the
//                longest gap between two turns, or a capture, until the checkpoint under way at
//                the end of the run has completed, the task still running), with and without the garbage
//                collections inside it (and the longest collection; V8 reports a collection's
//                atomic pause, not the incremental marking steps it takes between turns, so the
//                figure without them still holds some collector work: a CPU profile tells,
//                --cpu-prof on the part); then the same pauses with
//                --pause-mb lists of 200 MB and 1 GiB of state (1 KiB values) on hashmap, and
//                without checkpoints for comparison
//
// Each measurement runs in a child process of its own (own heap, own page cache history).
//
//   npm run bench:state                                   # 10M keys, 1 GiB of state
//   npm run bench:state -- --keys 1000000 --state-mb 256  # a quick run
//   npm run bench:state -- --only count --dist zipf
//   npm run bench:state -- --only checkpoint --backends lmdb --state-mb 256   # lmdb's checkpoints alone
//
// Options: --keys N (10_000_000), --records N (2 x keys), --dist uniform|zipf (uniform),
// --state-mb M (1024), --only count|checkpoint|job, --backends hashmap,lmdb (both; count needs both for its ratio), --job-keys N (2_000_000), --job-seconds S (10),
// --pause-mb list (200,1024), --dir D (working and checkpoint files; default
// the temp dir), --cache-size N (lmdb read cache entries; the backend's default unless given),
// --flush-every N (lmdb pending writes per commit; default half the cache size), --page-size B
// (lmdb pages).

import { execFileSync } from 'node:child_process'
import { PerformanceObserver } from 'node:perf_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { encodeInSlices } from '../src/checkpoint/sliced-encoding.ts'
import { FileKind, writeFramedChunks } from '../src/checkpoint/file-format.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ValueStateDescriptor } from '../src/api/state.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../src/state/keyed-state-backend.ts'
import { HeapKeyedStateBackend } from '../src/state/heap/keyed-state-backend.ts'
import { encodeValue, decodeValue } from '../src/runtime/network/batch-codec.ts'

const MAX_P = 128
const ALL = { start: 0, end: MAX_P - 1 }

function arg(name: string, fallback: string): string {
  // The last occurrence: a measurement's child gets the parent's arguments, then its own --dir
  // (the parent's temporary directory, removed at the end) after a --dir the user gave.
  const i = process.argv.lastIndexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const keys = Number(arg('keys', '10000000'))
const records = Number(arg('records', String(2 * keys)))
const dist = arg('dist', 'uniform')
const stateMb = Number(arg('state-mb', '1024'))
const only = arg('only', 'count,checkpoint,job').split(',')
const backends = arg('backends', 'hashmap,lmdb').split(',')
const jobKeys = Number(arg('job-keys', '2000000'))
const jobSeconds = Number(arg('job-seconds', '10'))
const pauseMbs = arg('pause-mb', '200,1024').split(',').map(Number)
const cacheSize = process.argv.includes('--cache-size') ? Number(arg('cache-size', '')) : undefined
const flushEvery = process.argv.includes('--flush-every') ? Number(arg('flush-every', '')) : undefined
const pageSize = process.argv.includes('--page-size') ? Number(arg('page-size', '4096')) : undefined
const part = arg('part', '')

async function lmdbBackend(dir: string, incremental: boolean, name: string): Promise<KeyedStateBackend & { flush(): void; storedBytes(): number }> {
  const { LmdbKeyedStateBackend } = await import('../src/state/lmdb/lmdb-keyed-state-backend.ts')
  return new LmdbKeyedStateBackend(
    { type: 'lmdb', localDir: join(dir, 'local'), incremental, jobId: name, attempt: 0, sharedDir: join(dir, 'shared') },
    { maxParallelism: MAX_P, operatorUid: 'bench', subtaskIndex: 0 },
    Date.now,
    { cacheSize, flushEvery, pageSize },
  )
}

/** Deterministic key indexes: uniform, or Zipf (s = 1) by inverse transform over the harmonic CDF. */
function keyIndexes(): Int32Array {
  const out = new Int32Array(records)
  let seed = 0x9e3779b9
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }
  if (dist === 'uniform') {
    for (let i = 0; i < records; i++) out[i] = Math.floor(random() * keys)
  } else {
    const h = Math.log(keys) + 0.5772156649
    for (let i = 0; i < records; i++) out[i] = Math.min(keys - 1, Math.floor(Math.exp(random() * h - 0.5772156649)))
  }
  return out
}

async function count(type: 'hashmap' | 'lmdb', dir: string): Promise<Record<string, number>> {
  const idx = keyIndexes()
  const backend = type === 'hashmap' ? new HeapKeyedStateBackend(MAX_P) : await lmdbBackend(dir, false, 'count')
  const state = backend.getState(new ValueStateDescriptor<number>('count', 0))
  // Memory sampled every 64 Ki updates: the JS heap, and memory outside it (Buffers: values in
  // flight to LMDB live there), at their highest; the process's peak resident set (with LMDB's
  // mapped pages) at the end.
  let peakHeap = 0
  let peakExternal = 0
  const sample = () => {
    const m = process.memoryUsage()
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
    if (m.external > peakExternal) peakExternal = m.external
  }
  const started = performance.now()
  for (let i = 0; i < records; i++) {
    backend.setCurrentKey(`k${idx[i]}`)
    state.update(state.value() + 1)
    if ((i & 0xffff) === 0) sample()
  }
  if (type === 'lmdb') (backend as Awaited<ReturnType<typeof lmdbBackend>>).flush()
  const seconds = (performance.now() - started) / 1000
  sample()
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
  const result: Record<string, number> = {
    updatesPerSec: Math.round(records / seconds), seconds: +seconds.toFixed(2), heapMB: mb(process.memoryUsage().heapUsed),
    peakHeapMB: mb(peakHeap), peakExternalMB: mb(peakExternal), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }
  if (type === 'lmdb') result.fileMB = Math.round((backend as Awaited<ReturnType<typeof lmdbBackend>>).storedBytes() / 2 ** 20)
  backend.dispose()
  return result
}

function payload(k: number, round: number): string {
  return `${k}:${round}:`.padEnd(1000, 'abcdefghijklmnopqrstuvwxyz')
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now()
  const r = await fn()
  return [r, performance.now() - t]
}

async function checkpoint(type: 'hashmap' | 'lmdb', dir: string): Promise<Record<string, number>> {
  const n = Math.round((stateMb * 2 ** 20) / 1024)
  const backend = type === 'hashmap' ? new HeapKeyedStateBackend(MAX_P) : await lmdbBackend(dir, true, 'checkpoint')
  const state = backend.getState(new ValueStateDescriptor<string>('payload'))
  for (let k = 0; k < n; k++) {
    backend.setCurrentKey(`user-${k}`)
    state.update(payload(k, 0))
  }
  const out: Record<string, number> = { keys: n }
  const take = async (id: number, savepoint: boolean) => {
    const [capture, syncMs] = await timed(() => backend.captureSnapshot(id, { savepoint }))
    const [snapshot, asyncMs] = await timed(async () => {
      const s = await backend.materializeSnapshot(capture)
      return decodeValue<KeyedStateSnapshot>(encodeValue(s)) // what the task writes, read back
    })
    ;(backend as KeyedStateBackend).notifyCheckpointComplete?.(id)
    return { snapshot, syncMs, asyncMs, bytes: encodeValue(snapshot).length }
  }
  const restore = async (snapshot: KeyedStateSnapshot, bytes: number) => {
    const target = type === 'hashmap' ? new HeapKeyedStateBackend(MAX_P) : await lmdbBackend(dir, true, 'restore')
    const [, ms] = await timed(() => target.restore(snapshot, ALL))
    target.dispose()
    return { ms, mbPerSec: bytes / 2 ** 20 / (ms / 1000) }
  }
  const fileBytes = (s: KeyedStateSnapshot) => {
    const x = s as unknown as { base: Array<{ bytes: number }>; deltas: Array<{ checkpointId: number; segments: Array<{ bytes: number }> }> }
    return { total: [...x.base, ...x.deltas.flatMap((d) => d.segments)].reduce((a, r) => a + r.bytes, 0), last: x.deltas.at(-1)?.segments.reduce((a, r) => a + r.bytes, 0) ?? 0 }
  }
  if (type === 'lmdb') {
    const full = await take(1, false)
    const fullFiles = fileBytes(full.snapshot).total
    Object.assign(out, { fullMB: +(fullFiles / 2 ** 20).toFixed(1), fullSyncMs: +full.syncMs.toFixed(2), fullAsyncMs: Math.round(full.asyncMs) })
    for (let k = 0; k < n; k += 100) {
      backend.setCurrentKey(`user-${k}`)
      state.update(payload(k, 1))
    }
    const inc = await take(2, false)
    const incFiles = fileBytes(inc.snapshot)
    Object.assign(out, { incrementalMB: +(incFiles.last / 2 ** 20).toFixed(2), incrementalSyncMs: +inc.syncMs.toFixed(2), incrementalAsyncMs: Math.round(inc.asyncMs) })
    const r = await restore(inc.snapshot, incFiles.total)
    Object.assign(out, { restoreIncrementalMBps: Math.round(r.mbPerSec), restoreIncrementalMs: Math.round(r.ms) })
  }
  const sp = await take(3, true)
  Object.assign(out, { canonicalMB: +(sp.bytes / 2 ** 20).toFixed(1), canonicalSyncMs: +sp.syncMs.toFixed(2), canonicalAsyncMs: Math.round(sp.asyncMs) })
  const r = await restore(sp.snapshot, sp.bytes)
  Object.assign(out, { restoreCanonicalMBps: Math.round(r.mbPerSec), restoreCanonicalMs: Math.round(r.ms) })
  backend.dispose()
  return out
}

/**
 * A keyed task's loop over `keyCount` keys (values: counts, or `valueBytes`-byte strings), with a
 * checkpoint every `intervalMs` (0: none) as a task takes it.
 */
async function job(type: 'hashmap' | 'lmdb', incremental: boolean, intervalMs: number, keyCount: number, valueBytes: number, dir: string): Promise<Record<string, number>> {
  const backend: KeyedStateBackend = type === 'hashmap' ? new HeapKeyedStateBackend(MAX_P, Date.now, incremental ? { sharedDir: join(dir, 'shared'), filePrefix: `bench-${process.pid}` } : null) : await lmdbBackend(dir, incremental, `job-${incremental}-${intervalMs}`)
  const state = backend.getState(new ValueStateDescriptor<unknown>('v'))
  const value = (k: number, round: number) => (valueBytes > 0 ? payload(k, round).slice(0, valueBytes) : round)
  for (let k = 0; k < keyCount; k++) {
    backend.setCurrentKey(k)
    state.update(value(k, 0))
  }
  ;(backend as { flush?: () => void }).flush?.()
  let seed = 0x2545f491
  let processed = 0
  /** Records processed by the end of the measured time (-1: not reached yet). */
  let processedAtEnd = -1
  let maxPause = 0
  let maxCapture = 0
  const durations: number[] = []
  let inFlight = false
  let nextCheckpoint = performance.now() + intervalMs
  let id = 0
  const checkpointFile = join(dir, `job-${type}-${incremental}-${process.pid}.bin`)
  // Garbage collections pause the thread too: their longest, and each gap between turns less
  // the collections inside it, to tell them from checkpoint work.
  let maxGc = 0
  const collections: Array<[number, number]> = []
  const gaps: Array<[number, number]> = []
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      maxGc = Math.max(maxGc, e.duration)
      collections.push([e.startTime, e.startTime + e.duration])
    }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const end = performance.now() + jobSeconds * 1000
  let lastTurnEnd = performance.now()
  await new Promise<void>((done) => {
    const turn = () => {
      const start = performance.now()
      maxPause = Math.max(maxPause, start - lastTurnEnd)
      if (start - lastTurnEnd > 1) gaps.push([lastTurnEnd, start])
      // Past the end, the task goes on (uncounted) until the checkpoint under way is done, so
      // that pauses during its last part count too.
      if (start >= end && processedAtEnd < 0) processedAtEnd = processed
      if (start >= end && !inFlight) {
        done()
        return
      }
      const deadline = start + 5
      do {
        for (let i = 0; i < 256; i++) {
          seed ^= seed << 13
          seed ^= seed >>> 17
          seed ^= seed << 5
          const k = (seed >>> 0) % keyCount
          backend.setCurrentKey(k)
          const v = state.value()
          state.update(valueBytes > 0 ? value(k, processed) : (v as number) + 1)
          processed++
        }
      } while (performance.now() < deadline)
      if (intervalMs > 0 && !inFlight && processedAtEnd < 0 && performance.now() >= nextCheckpoint) {
        const t0 = performance.now()
        const checkpointId = ++id
        const capture = backend.captureSnapshot(checkpointId, { savepoint: false })
        maxCapture = Math.max(maxCapture, performance.now() - t0)
        inFlight = true
        setImmediate(async () => {
          // As the task executor does: serialized in slices, written as chunks.
          const keyed = await backend.materializeSnapshot(capture)
          const chunks = await encodeInSlices({ version: 1, operators: { bench: { keyed } } })
          await writeFramedChunks(checkpointFile, FileKind.TASK_STATE, chunks)
          backend.notifyCheckpointComplete?.(checkpointId)
          durations.push(performance.now() - t0)
          inFlight = false
          nextCheckpoint = performance.now() + intervalMs
        })
      }
      lastTurnEnd = performance.now()
      setImmediate(turn)
    }
    setImmediate(turn)
  })
  // The observer's last entries arrive a turn later.
  await new Promise((resolve) => setImmediate(resolve))
  gcObserver.disconnect()
  backend.dispose()
  let maxWorkPause = maxCapture
  for (const [from, to] of gaps) {
    let gc = 0
    for (const [a, b] of collections) gc += Math.max(0, Math.min(b, to) - Math.max(a, from))
    maxWorkPause = Math.max(maxWorkPause, to - from - gc)
  }
  durations.sort((a, b) => a - b)
  return {
    recordsPerSec: Math.round(processedAtEnd / jobSeconds),
    checkpoints: durations.length,
    checkpointP50Ms: Math.round(durations[Math.floor(durations.length / 2)] ?? 0),
    checkpointMaxMs: Math.round(durations.at(-1) ?? 0),
    maxPauseMs: +Math.max(maxPause, maxCapture).toFixed(1),
    maxCaptureMs: +maxCapture.toFixed(2),
    maxPauseLessGcMs: +maxWorkPause.toFixed(1),
    maxGcMs: +maxGc.toFixed(1),
    heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  }
}

if (part !== '') {
  const [what, type, mode, size] = part.split(':') as ['count' | 'checkpoint' | 'job' | 'pause', 'hashmap' | 'lmdb', string, string]
  const dir = arg('dir', '')
  const result = what === 'count' ? await count(type, dir)
    : what === 'checkpoint' ? await checkpoint(type, dir)
    : what === 'job' ? await job(type, mode === 'incremental', size === 'none' ? 0 : 1000, jobKeys, 0, dir)
    : await job(type, mode === 'incremental', mode === 'none' ? 0 : 1000, Math.round((Number(size) * 2 ** 20) / 1024), 1000, dir)
  console.log(JSON.stringify(result))
} else {
  const dir = mkdtempSync(join(arg('dir', tmpdir()), 'weir-bench-state-'))
  const self = fileURLToPath(import.meta.url)
  const run = (p: string) => {
    const args = ['--max-old-space-size=8192', '--import', 'tsx', self, ...process.argv.slice(2), '--part', p, '--dir', dir]
    const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>
  }
  try {
    console.log(`node ${process.version}; keys ${keys}, records ${records}, dist ${dist}, state ${stateMb} MiB, lmdb cache ${cacheSize ?? 'default'}, flush every ${flushEvery ?? 'default'}`)
    if (only.includes('count')) {
      const heap = run('count:hashmap')
      console.log(`count  hashmap  ${JSON.stringify(heap)}`)
      const lmdb = run('count:lmdb')
      console.log(`count  lmdb     ${JSON.stringify(lmdb)}`)
      console.log(`count  lmdb/hashmap updates/s ratio: ${(lmdb.updatesPerSec! / heap.updatesPerSec!).toFixed(2)}`)
    }
    if (only.includes('checkpoint')) {
      if (backends.includes('hashmap')) console.log(`checkpoint  hashmap  ${JSON.stringify(run('checkpoint:hashmap'))}`)
      if (backends.includes('lmdb')) console.log(`checkpoint  lmdb     ${JSON.stringify(run('checkpoint:lmdb'))}`)
    }
    if (only.includes('job')) {
      console.log(`job (${jobKeys} keys, uniform, ${jobSeconds} s per run, checkpoint every 1 s against none)`)
      for (const [type, mode] of [['hashmap', 'full'], ['hashmap', 'incremental'], ['lmdb', 'incremental']] as const) {
        const none = run(`job:${type}:${mode}:none`)
        const every = run(`job:${type}:${mode}:1s`)
        console.log(`job  ${type} ${mode}  none ${JSON.stringify(none)}`)
        console.log(`job  ${type} ${mode}  1 s  ${JSON.stringify(every)}`)
        console.log(`job  ${type} ${mode}  throughput with checkpoints / without: ${(every.recordsPerSec! / none.recordsPerSec!).toFixed(2)}; longest task-thread pause ${every.maxPauseMs} ms (without checkpoints ${none.maxPauseMs} ms)`)
      }
      for (const mb of pauseMbs) {
        console.log(`pause  hashmap, ${mb} MiB of 1 KiB values, no checkpoints: ${JSON.stringify(run(`pause:hashmap:none:${mb}`))}`)
        for (const mode of ['full', 'incremental']) console.log(`pause  hashmap ${mode}, ${mb} MiB of 1 KiB values, checkpoint every 1 s: ${JSON.stringify(run(`pause:hashmap:${mode}:${mb}`))}`)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
