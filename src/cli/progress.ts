// The live status line of `weir run` on a terminal: records in and out, rates, elapsed time, the
// latest completed checkpoint (id, age, size, duration) and the restarts.
// Drawn on stderr; output that the job prints goes through here so that the line is cleared
// before and redrawn after it.

import type { JobMetrics } from '../runtime/jobmanager/job-types.ts'

/** What the line shows of the job beside its records: its checkpoints and restarts. */
export interface StatusSource {
  readonly attemptCount: number
  readonly coordinator: { readonly stats: { readonly latestCompleted: { readonly id: number; readonly durationMs: number | null; readonly stateSize: number; readonly triggeredAt: number } | null } }
}

const REDRAW_MS = 250

export class StatusLine {
  private metrics: JobMetrics = { recordsIn: 0, recordsOut: 0 }
  private last = { at: performance.now(), recordsIn: 0, recordsOut: 0 }
  private rates = { in: 0, out: 0 }
  private readonly started = performance.now()
  private readonly timer: NodeJS.Timeout
  private shown = false

  constructor(private readonly jobName: string, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly job: StatusSource | null = null) {
    this.timer = setInterval(() => this.draw(), REDRAW_MS)
    this.timer.unref()
  }

  update(metrics: JobMetrics): void {
    this.metrics = metrics
  }

  /** Writes a log line above the status line. */
  log(line: string): void {
    this.clear()
    this.stream.write(`${line}\n`)
    this.draw()
  }

  /** Writes job output above the status line. */
  print(text: string): void {
    this.clear()
    process.stdout.write(text)
    this.draw()
  }

  stop(): void {
    clearInterval(this.timer)
    this.clear()
  }

  private draw(): void {
    const now = performance.now()
    const dt = (now - this.last.at) / 1000
    if (dt >= 1) {
      this.rates = { in: (this.metrics.recordsIn - this.last.recordsIn) / dt, out: (this.metrics.recordsOut - this.last.recordsOut) / dt }
      this.last = { at: now, ...this.metrics }
    }
    const elapsed = ((now - this.started) / 1000).toFixed(1)
    const line = `[${this.jobName}] running ${elapsed}s | in ${fmt(this.metrics.recordsIn)} (${fmt(this.rates.in)}/s) | out ${fmt(this.metrics.recordsOut)} (${fmt(this.rates.out)}/s)${this.job ? describeJob(this.job, Date.now()) : ''}`
    this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, (this.stream.columns ?? 100) - 1))}`)
    this.shown = true
  }

  private clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K')
    this.shown = false
  }
}

/** ` | checkpoint 42 (3s ago, 1.2 MB, 120 ms) | 1 restart`, or nothing to add. */
export function describeJob(job: StatusSource, now: number): string {
  const c = job.coordinator.stats.latestCompleted
  let text = ''
  if (c) {
    const age = Math.max(0, Math.round((now - c.triggeredAt - (c.durationMs ?? 0)) / 1000))
    text += ` | checkpoint ${c.id} (${age}s ago, ${fmtBytes(c.stateSize)}, ${Math.round(c.durationMs ?? 0)} ms)`
  }
  if (job.attemptCount > 0) text += ` | ${job.attemptCount} restart${job.attemptCount === 1 ? '' : 's'}`
  return text
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KB`
  return `${n} B`
}

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return String(Math.round(n))
}
