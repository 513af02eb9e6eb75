// One configuration of the word count benchmark, run in a process of its own so that its peak
// RSS is its own. bench/wordcount.ts compiles this file with esbuild to plain JavaScript and
// starts it with a bare `node` (no tsx loader in the process or in its worker threads):
//
//   node child.mjs baseline '{"corpus":"..."}'
//   node child.mjs weir '{"corpus":"...","parallelism":2,"artifactUrl":"file:...","runtimeUrl":"file:.../dist/index.js"}'
//
// A weir run may also pass the job's own args, cancel the job after cancelAfterMs (a timed run),
// and watch for the restart (watchRecovery); with checkpointing on it returns the coordinator's
// history.
//
// The other modes count the same corpus the way a Node user would without Weir, for the ratios:
//
//   node child.mjs ceiling '{"corpus":"..."}'   two hand-written loops in two worker threads, each
//                                               on half the file: what two cores allow at best
//   node child.mjs rxjs '{"corpus":"..."}'      RxJS operators over the same lines, in process
//   node child.mjs streams '{"corpus":"..."}'   Node object-mode Transform streams, in process
//
// It prints one line, RESULT_PREFIX + JSON of a ChildResult (bench/protocol.ts), on stdout.

import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Subject, filter, map, mergeMap } from 'rxjs'
import { watchThreadCpu } from './thread-cpu.ts'
import { RESULT_PREFIX, type BaselineParams, type CheckpointRecord, type ChildResult, type WeirParams } from './protocol.ts'

const CHUNK_BYTES = 4 << 20

/**
 * The hand-written word count: what examples/wordcount.ts computes, in one loop on one thread.
 * Reads 4 MiB at a time, cuts at the last newline, lower-cases each line, splits it like the
 * job's tokenizer, and keeps each word's running count (the value the job emits per word).
 */
function baseline(p: BaselineParams): ChildResult {
  const started = performance.now()
  const splitter = /[^\p{L}\p{N}]+/u
  const counts = new Map<string, number>()
  let words = 0
  let lines = 0
  let checksum = 0
  let buf = Buffer.allocUnsafe(CHUNK_BYTES)
  let carry = 0
  const countText = (text: string): void => {
    for (const line of text.split('\n')) {
      lines++
      for (const word of line.toLowerCase().split(splitter)) {
        if (word.length === 0) continue
        const count = (counts.get(word) ?? 0) + 1
        counts.set(word, count)
        checksum += count
        words++
      }
    }
  }
  const fd = openSync(p.corpus, 'r')
  // A range starts at a line's start and ends after a newline (see ceiling()).
  let position = p.start ?? 0
  const endAt = p.end ?? Infinity
  try {
    for (;;) {
      if (carry === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, carry)
        buf = bigger
      }
      const want = Math.min(buf.length - carry, endAt - position)
      const n = want > 0 ? readSync(fd, buf, carry, want, position) : 0
      position += n
      const end = carry + n
      if (n === 0) {
        if (end > 0) countText(buf.toString('utf8', 0, end))
        break
      }
      const lastNl = buf.lastIndexOf(10, end - 1)
      if (lastNl < 0) {
        carry = end
        continue
      }
      countText(buf.toString('utf8', 0, lastNl))
      buf.copy(buf, 0, lastNl + 1, end)
      carry = end - lastNl - 1
    }
  } finally {
    closeSync(fd)
  }
  const seconds = (performance.now() - started) / 1000
  return { ok: true, words, lines, seconds, ...usage(), extra: { distinct: counts.size, checksum } }
}

/** The ceiling of two cores: baseline() on each half of the file, in two worker threads at once. */
async function ceiling(p: BaselineParams): Promise<ChildResult> {
  const started = performance.now()
  const fd = openSync(p.corpus, 'r')
  let mid: number
  try {
    const size = fstatSync(fd).size
    // Cut after the first newline at or past the middle.
    const probe = Buffer.allocUnsafe(1 << 16)
    mid = Math.floor(size / 2)
    for (;;) {
      const n = readSync(fd, probe, 0, probe.length, mid)
      const nl = probe.subarray(0, n).indexOf(10)
      if (n === 0) break
      if (nl >= 0) {
        mid += nl + 1
        break
      }
      mid += n
    }
  } finally {
    closeSync(fd)
  }
  const halves: BaselineParams[] = [{ corpus: p.corpus, start: 0, end: mid }, { corpus: p.corpus, start: mid }]
  const results = await Promise.all(halves.map((half) => new Promise<ChildResult>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: half })
    worker.once('message', resolve)
    worker.once('error', reject)
  })))
  const seconds = (performance.now() - started) / 1000
  return { ok: results.every((r) => r.ok), words: results.reduce((a, r) => a + r.words, 0), lines: results.reduce((a, r) => a + r.lines, 0), seconds, ...usage(), extra: {} }
}

/** Reads the corpus 4 MiB at a time and hands each run of whole lines (without the last newline) to `onText`. */
function forEachText(path: string, onText: (text: string) => void): void {
  let buf = Buffer.allocUnsafe(CHUNK_BYTES)
  let carry = 0
  const fd = openSync(path, 'r')
  try {
    for (;;) {
      if (carry === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, carry)
        buf = bigger
      }
      const n = readSync(fd, buf, carry, buf.length - carry, null)
      const end = carry + n
      if (n === 0) {
        if (end > 0) onText(buf.toString('utf8', 0, end))
        return
      }
      const lastNl = buf.lastIndexOf(10, end - 1)
      if (lastNl < 0) {
        carry = end
        continue
      }
      onText(buf.toString('utf8', 0, lastNl))
      buf.copy(buf, 0, lastNl + 1, end)
      carry = end - lastNl - 1
    }
  } finally {
    closeSync(fd)
  }
}

/** The same count with RxJS: lines, lower-cased, split into words, counted, every count emitted. */
function rxjs(p: BaselineParams): ChildResult {
  const started = performance.now()
  const splitter = /[^\p{L}\p{N}]+/u
  const counts = new Map<string, number>()
  let words = 0
  let lines = 0
  const texts = new Subject<string>()
  texts.pipe(
    mergeMap((text) => text.split('\n')),
    map((line) => {
      lines++
      return line.toLowerCase()
    }),
    mergeMap((line) => line.split(splitter)),
    filter((word) => word.length > 0),
    map((word): [string, number] => {
      const count = (counts.get(word) ?? 0) + 1
      counts.set(word, count)
      return [word, count]
    }),
  ).subscribe(() => {
    words++
  })
  forEachText(p.corpus, (text) => texts.next(text))
  texts.complete()
  return { ok: true, words, lines, seconds: (performance.now() - started) / 1000, ...usage(), extra: { distinct: counts.size } }
}

/** The same count with Node object-mode streams: a file stream, a line splitter, a tokenizer and a counting sink. */
async function streams(p: BaselineParams): Promise<ChildResult> {
  const started = performance.now()
  const splitter = /[^\p{L}\p{N}]+/u
  const counts = new Map<string, number>()
  let words = 0
  let lines = 0
  let carry = ''
  const toLines = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done) {
      const parts = (carry + chunk.toString('utf8')).split('\n')
      carry = parts.pop()!
      for (const line of parts) this.push(line)
      done()
    },
    flush(done) {
      if (carry.length > 0) this.push(carry)
      done()
    },
  })
  const tokenizer = new Transform({
    objectMode: true,
    transform(line: string, _enc, done) {
      lines++
      for (const word of line.toLowerCase().split(splitter)) if (word.length > 0) this.push(word)
      done()
    },
  })
  const counter = new Transform({
    objectMode: true,
    transform(word: string, _enc, done) {
      const count = (counts.get(word) ?? 0) + 1
      counts.set(word, count)
      done(null, [word, count])
    },
  })
  const sink = new Writable({
    objectMode: true,
    write(_pair: [string, number], _enc, done) {
      words++
      done()
    },
  })
  await pipeline(createReadStream(p.corpus, { highWaterMark: CHUNK_BYTES }), toLines, tokenizer, counter, sink)
  return { ok: true, words, lines, seconds: (performance.now() - started) / 1000, ...usage(), extra: { distinct: counts.size } }
}

async function weir(p: WeirParams): Promise<ChildResult> {
  const { JobExecution } = (await import(p.runtimeUrl)) as typeof import('../src/index.ts')
  const threadCpu = watchThreadCpu(50)
  const started = performance.now()
  const execution = await JobExecution.start({
    artifactUrl: p.artifactUrl,
    args: p.args ?? ['--input', p.corpus],
    // Every checkpoint's statistics, for the durations' percentiles (the REST default keeps 10).
    config: { 'web.checkpoints.history': 100_000, ...p.config, 'parallelism.default': p.parallelism },
  })
  const deployed = performance.now()
  const copyHistory = (): CheckpointRecord[] => (execution.coordinator?.history ?? []).map((h) => ({
    id: h.id, status: h.status, triggeredAt: h.triggeredAt, durationMs: h.durationMs, stateSize: h.stateSize,
    maxSyncMs: h.maxSyncMs, maxAsyncMs: h.maxAsyncMs, maxAlignmentMs: h.maxAlignmentMs, failureReason: h.failureReason,
  }))

  // A timed run: cancel after cancelAfterMs, keeping the history as it was before the cancel.
  let historyAtCancel: CheckpointRecord[] | null = null
  const cancelTimer = p.cancelAfterMs !== undefined
    ? setTimeout(() => {
        historyAtCancel = copyHistory()
        void execution.cancel()
      }, p.cancelAfterMs)
    : null

  // Recovery: when each attempt started, and the first poll that sees records in a new attempt.
  const attemptStartedAt: number[] = []
  let firstRecordsAt: number | null = null
  let seenAttempt = -1
  const poll = p.watchRecovery
    ? setInterval(() => {
        const attempt = execution.attemptCount
        if (attempt !== seenAttempt) {
          seenAttempt = attempt
          attemptStartedAt.push(Date.now() - (performance.now() - execution.attemptStartedAt))
        }
        if (firstRecordsAt === null && attempt >= 1 && execution.metrics.recordsIn > 0) firstRecordsAt = Date.now()
      }, 5)
    : null

  const result = await execution.result
  const seconds = (performance.now() - started) / 1000
  const threads = threadCpu.stop()
  if (cancelTimer) clearTimeout(cancelTimer)
  if (poll) clearInterval(poll)
  const expected = p.cancelAfterMs !== undefined ? 'CANCELED' : 'FINISHED'
  const ok = result.status === expected
  return {
    ok,
    error: ok ? undefined : `job ${result.status} (expected ${expected}): ${result.error?.message ?? 'no error'}`,
    words: result.recordsOut,
    lines: result.recordsIn,
    seconds,
    ...usage(),
    extra: { slots: result.slots, jobDurationMs: Math.round(result.durationMs), startMs: Math.round(deployed - started) },
    status: result.status,
    restarts: result.restarts,
    checkpointing: execution.coordinator ? { counts: { ...result.checkpoints }, history: historyAtCancel ?? copyHistory() } : undefined,
    recoveryWatch: p.watchRecovery ? { attemptStartedAt, firstRecordsAt } : undefined,
    threads,
    pid: process.pid,
  }
}

function usage(): { maxRssKiB: number; cpuSeconds: number } {
  const u = process.resourceUsage()
  return { maxRssKiB: u.maxRSS, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2)
  const params = JSON.parse(json ?? '{}') as BaselineParams & WeirParams
  let result: ChildResult
  try {
    if (mode === 'baseline') result = baseline(params)
    else if (mode === 'ceiling') result = await ceiling(params)
    else if (mode === 'rxjs') result = rxjs(params)
    else if (mode === 'streams') result = await streams(params)
    else if (mode === 'weir') result = await weir(params)
    else throw new Error(`unknown mode ${mode}`)
  } catch (e) {
    result = { ok: false, error: (e as Error).stack ?? String(e), words: 0, lines: 0, seconds: 0, ...usage(), extra: {} }
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
  // Should anything keep the event loop alive after the job, do not hang the benchmark.
  setTimeout(() => process.exit(0), 10_000).unref()
}

if (isMainThread) await main()
else parentPort!.postMessage(baseline(workerData as BaselineParams))
