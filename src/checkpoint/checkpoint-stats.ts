// Checkpoint statistics as Flink's web UI shows them: counts over the job's whole life, a
// summary (min / max / average over every completed checkpoint, percentiles over the latest
// 10,000, as Flink's StatsSummary does), the latest completed / savepoint / failed checkpoint,
// and a bounded history of the newest `web.checkpoints.history` checkpoints with their
// per-subtask details. The coordinator reports triggers, acknowledgements and outcomes; readers
// (REST, metrics) never walk more than the bounded history.

/** One subtask's part in one checkpoint. */
export interface SubtaskCheckpointStats {
  readonly subtask: number
  /** When it acknowledged (ms since the epoch). */
  readonly ackAt: number
  readonly stateSize: number
  readonly checkpointedSize: number
  readonly syncMs: number
  readonly asyncMs: number
  readonly alignmentMs: number
  readonly startDelayMs: number
  readonly unaligned: boolean
  readonly persistedBytes: number
}

export interface VertexCheckpointStats {
  acknowledged: number
  readonly total: number
  stateSize: number
  checkpointedSize: number
  latestAckAt: number | null
  /** Per subtask, null until it acknowledged. */
  readonly subtasks: Array<SubtaskCheckpointStats | null>
}

export interface CheckpointStats {
  readonly id: number
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED'
  readonly triggeredAt: number
  isSavepoint: boolean
  durationMs: number | null
  /** Full size: every byte the checkpoint's state consists of. */
  stateSize: number
  /** Bytes written for this checkpoint (smaller than stateSize with incremental checkpoints). */
  checkpointedSize: number
  /** In-flight data stored by unaligned checkpoints. */
  persistedBytes: number
  acknowledged: number
  readonly total: number
  failureReason: string | null
  maxSyncMs: number
  maxAsyncMs: number
  maxAlignmentMs: number
  path: string | null
  /** When the last task acknowledged. */
  latestAckAt: number | null
  /** Acknowledgements per vertex id. */
  readonly tasks: Map<number, VertexCheckpointStats>
}

/** Flink's percentiles are over the newest values of this many checkpoints (HISTOGRAM_WINDOW_SIZE). */
export const SUMMARY_WINDOW = 10_000

export interface SummaryJson {
  readonly min: number
  readonly max: number
  readonly avg: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
  readonly p999: number
}

/** min / max / average over all values, percentiles over the newest SUMMARY_WINDOW. */
export class StatsSummary {
  private count = 0
  private sum = 0
  private min = Infinity
  private max = -Infinity
  private readonly window = new Float64Array(SUMMARY_WINDOW)
  private next = 0
  private cached: SummaryJson | null = null

  add(value: number): void {
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    this.window[this.next] = value
    this.next = (this.next + 1) % SUMMARY_WINDOW
    this.cached = null
  }

  get size(): number {
    return this.count
  }

  /** Computed once per change, so that reading it often (REST polling) costs nothing. */
  toJson(): SummaryJson {
    if (this.cached) return this.cached
    if (this.count === 0) return (this.cached = { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 })
    const n = Math.min(this.count, SUMMARY_WINDOW)
    const sorted = this.window.slice(0, n).sort()
    const q = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!
    return (this.cached = {
      min: this.min, max: this.max, avg: Math.round(this.sum / this.count),
      p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), p999: q(0.999),
    })
  }
}

export class CheckpointStatsTracker {
  private readonly ring: CheckpointStats[] = []
  readonly summary = {
    stateSize: new StatsSummary(),
    checkpointedSize: new StatsSummary(),
    endToEndDuration: new StatsSummary(),
    persistedData: new StatsSummary(),
  }
  latestCompleted: CheckpointStats | null = null
  latestSavepoint: CheckpointStats | null = null
  latestFailed: CheckpointStats | null = null

  /** `historySize`: web.checkpoints.history. */
  constructor(readonly historySize = 10) {}

  /** The newest checkpoints, oldest first. */
  get history(): readonly CheckpointStats[] {
    return this.ring
  }

  triggered(stats: CheckpointStats): void {
    this.ring.push(stats)
    if (this.ring.length > this.historySize) this.ring.shift()
  }

  completed(stats: CheckpointStats): void {
    this.summary.stateSize.add(stats.stateSize)
    this.summary.checkpointedSize.add(stats.checkpointedSize)
    this.summary.endToEndDuration.add(Math.round(stats.durationMs ?? 0))
    this.summary.persistedData.add(stats.persistedBytes)
    if (stats.isSavepoint) this.latestSavepoint = stats
    else this.latestCompleted = stats
  }

  failed(stats: CheckpointStats): void {
    this.latestFailed = stats
  }

  /** A checkpoint in the history; null when it dropped out (or never was). */
  find(id: number): CheckpointStats | null {
    for (let i = this.ring.length - 1; i >= 0; i--) if (this.ring[i]!.id === id) return this.ring[i]!
    return null
  }
}
