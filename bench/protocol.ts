// What bench/wordcount.ts and its child processes (bench/child.ts) exchange.

/** The child prints one line: this prefix, then the JSON of a ChildResult. */
export const RESULT_PREFIX = '@@bench-result '

export interface BaselineParams {
  readonly corpus: string
  /** Only the lines that start in [start, end) bytes (the two-thread ceiling splits the file). */
  readonly start?: number
  readonly end?: number
}

export interface WeirParams {
  readonly corpus: string
  readonly parallelism: number
  /** The bundled job (bench/jobs/wordcount-discard.ts). */
  readonly artifactUrl: string
  /** The built runtime, dist/index.js: the same module the bundle imports as 'weir-stream'. */
  readonly runtimeUrl: string
  /** Extra configuration (-D key=value and the configuration's own keys), on top of parallelism.default. */
  readonly config: Record<string, string>
  /** The job's arguments; default ['--input', corpus]. */
  readonly args?: string[]
  /** Cancel the job after this many ms (a timed run; CANCELED then counts as success). */
  readonly cancelAfterMs?: number
  /** Poll execution.attemptCount and execution.metrics every 5 ms to see when records flow after a restart. */
  readonly watchRecovery?: boolean
}

/** One entry of CheckpointCoordinator.history. */
export interface CheckpointRecord {
  readonly id: number
  readonly status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED'
  /** Date.now() at the trigger. */
  readonly triggeredAt: number
  readonly durationMs: number | null
  readonly stateSize: number
  readonly maxSyncMs: number
  readonly maxAsyncMs: number
  readonly maxAlignmentMs: number
  readonly failureReason: string | null
}

export interface CheckpointingResult {
  /** coordinator.counts (the same as JobResult.checkpoints) when the job ended. */
  readonly counts: { readonly triggered: number; readonly completed: number; readonly failed: number }
  /** The coordinator's history (its last 50): for a canceled run, as it was just before the cancel. */
  readonly history: CheckpointRecord[]
}

export interface RecoveryWatch {
  /** Date.now() when the main thread saw each new attempt start (from execution.attemptStartedAt). */
  readonly attemptStartedAt: number[]
  /** Date.now() of the first 5 ms poll that saw attempt >= 1 with recordsIn > 0 (workers report every 200 ms). */
  readonly firstRecordsAt: number | null
}

export interface ChildResult {
  readonly ok: boolean
  readonly error?: string
  /** Words counted (baseline) or records that reached the sink (weir). */
  readonly words: number
  /** Lines read (baseline) or records the source emitted (weir). */
  readonly lines: number
  /** Wall seconds of the counting itself: from opening the file / JobExecution.start to the end. */
  readonly seconds: number
  readonly maxRssKiB: number
  /** CPU seconds of the whole process (all threads), user + system. */
  readonly cpuSeconds: number
  readonly extra: Record<string, number | string>
  /** Final job status (weir runs). */
  readonly status?: string
  readonly restarts?: number
  /** With checkpointing on. */
  readonly checkpointing?: CheckpointingResult
  readonly recoveryWatch?: RecoveryWatch
  /** Weir runs: each thread's CPU seconds (bench/thread-cpu.ts), busiest first; the main thread's tid is the process id. */
  readonly threads?: Array<{ readonly tid: number; readonly name: string; readonly cpuSeconds: number }>
  readonly pid?: number
}
