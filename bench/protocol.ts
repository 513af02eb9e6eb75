// What bench/wordcount.ts and its child processes (bench/child.ts) exchange.

/** The child prints one line: this prefix, then the JSON of a ChildResult. */
export const RESULT_PREFIX = '@@bench-result '

export interface BaselineParams {
  readonly corpus: string
}

export interface WeirParams {
  readonly corpus: string
  readonly parallelism: number
  /** The bundled job (bench/jobs/wordcount-discard.ts). */
  readonly artifactUrl: string
  /** The built runtime, dist/index.js: the same module the bundle imports as 'weir'. */
  readonly runtimeUrl: string
  /** Extra configuration (-D key=value), on top of parallelism.default. */
  readonly config: Record<string, string>
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
}
