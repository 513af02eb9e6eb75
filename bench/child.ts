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
// It prints one line, RESULT_PREFIX + JSON of a ChildResult (bench/protocol.ts), on stdout.

import { closeSync, openSync, readSync } from 'node:fs'
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

async function weir(p: WeirParams): Promise<ChildResult> {
  const { JobExecution } = (await import(p.runtimeUrl)) as typeof import('../src/index.ts')
  const started = performance.now()
  const execution = await JobExecution.start({
    artifactUrl: p.artifactUrl,
    args: p.args ?? ['--input', p.corpus],
    config: { ...p.config, 'parallelism.default': p.parallelism },
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
    else if (mode === 'weir') result = await weir(params)
    else throw new Error(`unknown mode ${mode}`)
  } catch (e) {
    result = { ok: false, error: (e as Error).stack ?? String(e), words: 0, lines: 0, seconds: 0, ...usage(), extra: {} }
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
  // Should anything keep the event loop alive after the job, do not hang the benchmark.
  setTimeout(() => process.exit(0), 10_000).unref()
}

await main()
