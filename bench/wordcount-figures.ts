// The word count benchmark's figures (wordcount.ts): a run's record, the summary of its
// checkpoints, the recovery run's timings and exactness, and the formatting of its tables.

import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { CorpusInfo } from './corpus.ts'
import type { CheckpointRecord, ChildResult } from './protocol.ts'
import type { ThreadCpuSplit } from './wordcount-children.ts'
import { CHECKPOINT_INTERVAL_MS, type ConfigName, type RunSpec } from './wordcount-plan.ts'

export interface CheckpointSummary {
  /** From the coordinator's history (before the cancel in a timed run). */
  readonly completed: number
  readonly failed: number
  readonly inFlight: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly maxMs: number | null
  readonly maxSyncMs: number | null
  readonly maxAsyncMs: number | null
  readonly maxAlignmentMs: number | null
  /** Of the last completed checkpoint, and the largest. */
  readonly stateBytes: number | null
  readonly maxStateBytes: number | null
  /** Longest time between two consecutive completions. */
  readonly maxGapMs: number | null
  readonly failureReasons: string[]
  /** Timed runs: completed >= elapsed / interval - 2. */
  readonly keptPace: boolean | null
}

export interface RecoveryFigures {
  /** Whether the job failed as planned (fail.json written). */
  readonly injected: boolean
  readonly failLine: number | null
  /** Checkpoints the failing tokenizer had seen complete before it threw (0: restart from the beginning). */
  readonly checkpointsBeforeFailure: number | null
  /** From Date.now() before the throw to the first line a tokenizer of the new attempt processed. */
  readonly recoveryMs: number | null
  /** From the failure to the JobManager starting the new attempt (JobExecution.attemptStartedAt). */
  readonly redeployMs: number | null
  /** From the failure to the first 5 ms poll of execution.metrics with records in the new attempt (workers report every 200 ms). */
  readonly polledMs: number | null
  /** Lines the sources emitted in the last attempt (those after the restored checkpoint's position). */
  readonly linesLastAttempt: number
  /** Sum over all words of the last count the sink saw, and the number of words. */
  readonly sumOfLastCounts: number | null
  readonly distinctWords: number | null
  readonly exact: boolean
}

export interface Run extends ChildResult {
  readonly config: ConfigName
  readonly label: string
  readonly round: number
  readonly wordsPerSecond: number
  readonly peakRssMB: number
  readonly profiles: string[]
  /** CPU time of everything else on the machine while this configuration ran, in cores (Linux only). */
  readonly otherCores: number | null
  /** Weir runs: CPU seconds of the main thread (JobManager, start-up), of each slot thread, and of every other thread together (V8's compiler and GC helpers). */
  readonly threadCpu: ThreadCpuSplit | null
  readonly variant?: RunSpec['variant']
  readonly checkpointStats?: CheckpointSummary
  readonly recovery?: RecoveryFigures
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export function summarizeCheckpoints(history: readonly CheckpointRecord[], elapsedMs: number | null): CheckpointSummary {
  const done = history.filter((h) => h.status === 'COMPLETED' && h.durationMs !== null)
  const failed = history.filter((h) => h.status === 'FAILED')
  const durations = done.map((h) => h.durationMs!).sort((a, b) => a - b)
  const max = (f: (h: CheckpointRecord) => number): number | null => (done.length === 0 ? null : Math.max(...done.map(f)))
  const ends = done.map((h) => h.triggeredAt + h.durationMs!).sort((a, b) => a - b)
  let maxGapMs: number | null = null
  for (let i = 1; i < ends.length; i++) maxGapMs = Math.max(maxGapMs ?? 0, ends[i]! - ends[i - 1]!)
  return {
    completed: done.length,
    failed: failed.length,
    inFlight: history.filter((h) => h.status === 'IN_PROGRESS').length,
    p50Ms: percentile(durations, 0.5),
    p99Ms: percentile(durations, 0.99),
    maxMs: durations.at(-1) ?? null,
    maxSyncMs: max((h) => h.maxSyncMs),
    maxAsyncMs: max((h) => h.maxAsyncMs),
    maxAlignmentMs: max((h) => h.maxAlignmentMs),
    stateBytes: done.at(-1)?.stateSize ?? null,
    maxStateBytes: max((h) => h.stateSize),
    maxGapMs,
    failureReasons: [...new Set(failed.map((h) => h.failureReason ?? 'unknown'))],
    keptPace: elapsedMs === null ? null : done.length >= elapsedMs / CHECKPOINT_INTERVAL_MS - 2,
  }
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return null
  }
}

/** The recovery run's figures, from the files the job wrote into its marks directory. */
export function recoveryFigures(marks: string, result: ChildResult, corpus: CorpusInfo): RecoveryFigures {
  const fail = readJson<{ at: number; subtask: number; lines: number; checkpoints: number }>(join(marks, 'fail.json'))
  const files = readdirSync(marks)
  const resumes = files.filter((f) => /^resume-a1-s\d+\.json$/.test(f)).map((f) => readJson<{ at: number }>(join(marks, f))?.at).filter((t): t is number => t !== undefined)
  const resumeAt = resumes.length > 0 ? Math.min(...resumes) : null
  const lastAttempt = result.restarts ?? 0
  const finals = files.filter((f) => f.startsWith(`final-a${lastAttempt}-`))
  let sum: number | null = null
  let distinct: number | null = null
  if (finals.length > 0) {
    const last = new Map<string, number>()
    for (const f of finals) for (const [word, count] of readJson<Array<[string, number]>>(join(marks, f)) ?? []) last.set(word, Math.max(count, last.get(word) ?? 0))
    sum = 0
    for (const c of last.values()) sum += c
    distinct = last.size
  }
  const watch = result.recoveryWatch
  const restartedAt = watch?.attemptStartedAt[1] ?? null
  return {
    injected: fail !== null,
    failLine: fail?.lines ?? null,
    checkpointsBeforeFailure: fail?.checkpoints ?? null,
    recoveryMs: fail && resumeAt !== null ? resumeAt - fail.at : null,
    redeployMs: fail && restartedAt !== null ? restartedAt - fail.at : null,
    polledMs: fail && watch?.firstRecordsAt != null ? watch.firstRecordsAt - fail.at : null,
    linesLastAttempt: result.lines,
    sumOfLastCounts: sum,
    distinctWords: distinct,
    exact: sum === corpus.words && distinct === corpus.distinctUsed,
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function fmtMs(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n >= 100 ? fmtInt(n) : n.toFixed(1)
}

export function fmtBytes(n: number | null): string {
  if (n === null) return '-'
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r, ri) => {
    const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
    return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line
  }).join('\n')
}
