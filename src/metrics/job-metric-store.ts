// The JobManager's view of a job's task metrics: the latest sample of every subtask, and the
// per-second rates and time ratios derived from the samples of the last few seconds. Slots
// report counters; everything per second is computed here, when someone asks (REST, /metrics),
// so that the tasks do no work for it.

import type { SubtaskState, TaskMetricsSample, UserMetricSample } from './task-metrics-sample.ts'

/** Rates and busy / idle / back-pressured time per second are taken over this window. */
export const RATE_WINDOW_MS = 5_000

/** Flink reports "no watermark yet" as Java's Long.MIN_VALUE. */
export const LONG_MIN_VALUE = -9223372036854775808

export interface SubtaskMetrics {
  readonly vertex: number
  readonly subtask: number
  readonly attempt: number
  readonly state: SubtaskState
  /** When the last sample arrived (ms since the epoch). */
  readonly updatedAt: number
  readonly numRecordsIn: number
  readonly numRecordsOut: number
  readonly numBytesIn: number
  readonly numBytesOut: number
  readonly numRecordsInPerSecond: number
  readonly numRecordsOutPerSecond: number
  readonly numBytesInPerSecond: number
  readonly numBytesOutPerSecond: number
  readonly busyTimeMsPerSecond: number
  readonly idleTimeMsPerSecond: number
  readonly backPressuredTimeMsPerSecond: number
  /** Since the subtask started (Flink's accumulated-*-time). */
  readonly accumulatedBusyTime: number
  readonly accumulatedIdleTime: number
  readonly accumulatedBackPressuredTime: number
  readonly checkpointAlignmentTime: number
  readonly checkpointStartDelayNanos: number
  /** The task's input watermark; Flink's Long.MIN_VALUE (here -9223372036854775808) before the first one. */
  readonly currentInputWatermark: number
  readonly user: readonly UserMetricSample[]
}

interface Track {
  readonly samples: Array<{ readonly at: number; readonly s: TaskMetricsSample }>
}

export class JobMetricStore {
  private readonly tracks = new Map<number, Track>()
  private attempt = 0
  /** When the current attempt started reporting. */
  attemptStartedAt = Date.now()

  constructor(private readonly now: () => number = Date.now) {}

  /** A new attempt deploys fresh tasks: their counters start at zero. */
  startAttempt(attempt: number): void {
    this.attempt = attempt
    this.attemptStartedAt = this.now()
    this.tracks.clear()
  }

  update(samples: readonly TaskMetricsSample[]): void {
    const at = this.now()
    for (const s of samples) {
      const key = s.vertex * 65536 + s.subtask
      let track = this.tracks.get(key)
      if (!track) this.tracks.set(key, (track = { samples: [] }))
      const list = track.samples
      list.push({ at, s })
      // Keep one sample older than the window, so that a rate always spans the whole window.
      while (list.length > 2 && at - list[1]!.at >= RATE_WINDOW_MS) list.shift()
    }
  }

  /** The metrics of one subtask; null before its first report. */
  subtask(vertex: number, subtask: number): SubtaskMetrics | null {
    const track = this.tracks.get(vertex * 65536 + subtask)
    if (!track || track.samples.length === 0) return null
    const last = track.samples.at(-1)!
    const first = track.samples[0]!
    const s = last.s
    const dt = (last.at - first.at) / 1000
    const rate = (pick: (x: TaskMetricsSample) => number) => (dt > 0 ? Math.max(0, (pick(s) - pick(first.s)) / dt) : 0)
    // Milliseconds per second of the task's own time, as the task accounted it: the three add up
    // to 1000. Not per second of the window between the samples' arrivals here: a report that
    // waited in a queue (a busy machine) arrives late, and the next one on time, so those
    // seconds are not the task's (busy 0.444 and back-pressured 0.762 of a window were seen).
    const accounted = (x: TaskMetricsSample) => x.busyMs + x.idleMs + x.backPressuredMs
    const taskMs = accounted(s) - accounted(first.s)
    const perSecond = (pick: (x: TaskMetricsSample) => number) => {
      if (taskMs <= 0) return 0
      return Math.min(1000, Math.max(0, Math.round((1000 * (pick(s) - pick(first.s))) / taskMs)))
    }
    return {
      vertex, subtask, attempt: this.attempt, state: s.state, updatedAt: last.at,
      numRecordsIn: s.recordsIn, numRecordsOut: s.recordsOut, numBytesIn: s.bytesIn, numBytesOut: s.bytesOut,
      numRecordsInPerSecond: rate((x) => x.recordsIn), numRecordsOutPerSecond: rate((x) => x.recordsOut),
      numBytesInPerSecond: rate((x) => x.bytesIn), numBytesOutPerSecond: rate((x) => x.bytesOut),
      busyTimeMsPerSecond: perSecond((x) => x.busyMs), idleTimeMsPerSecond: perSecond((x) => x.idleMs),
      backPressuredTimeMsPerSecond: perSecond((x) => x.backPressuredMs),
      accumulatedBusyTime: Math.round(s.busyMs), accumulatedIdleTime: Math.round(s.idleMs), accumulatedBackPressuredTime: Math.round(s.backPressuredMs),
      checkpointAlignmentTime: Math.round(s.lastCheckpointAlignmentMs * 1e6),
      checkpointStartDelayNanos: Math.round(s.lastCheckpointStartDelayMs * 1e6),
      currentInputWatermark: Number.isFinite(s.watermark) ? s.watermark : LONG_MIN_VALUE,
      user: s.user,
    }
  }

  /** Every subtask of a vertex of the given parallelism, null where none reported yet. */
  vertex(vertex: number, parallelism: number): Array<SubtaskMetrics | null> {
    return Array.from({ length: parallelism }, (_, i) => this.subtask(vertex, i))
  }

  get currentAttempt(): number {
    return this.attempt
  }
}
