// The user metrics API, in Flink's shape: `ctx.getMetricGroup().counter(name)`, `.gauge(name, fn)`,
// `.histogram(name)`, `.meter(name)`. Metrics live in the task's thread and cost what their
// update costs (a counter is an addition); the slot reads them when it reports, a few times a
// second, and the JobManager publishes them on /metrics and the REST API with the operator's scope.

import { UserError } from '../errors.ts'
import type { HistogramStatistics, UserMetricSample } from './task-metrics-sample.ts'

export interface Counter {
  inc(n?: number): void
  dec(n?: number): void
  getCount(): number
}

export interface Gauge<T extends number = number> {
  getValue(): T
}

export interface Meter {
  markEvent(n?: number): void
  /** Events per second over the last minute (Flink's MeterView default). */
  getRate(): number
  getCount(): number
}

export interface Histogram {
  update(value: number): void
  getCount(): number
  getStatistics(): HistogramStatistics
}

export interface MetricGroup {
  counter(name: string): Counter
  gauge<T extends number>(name: string, gauge: (() => T) | Gauge<T>): Gauge<T>
  /** A histogram over the last `windowSize` values (default 1024), like Flink's DescriptiveStatisticsHistogram. */
  histogram(name: string, windowSize?: number): Histogram
  meter(name: string): Meter
}

class SimpleCounter implements Counter {
  private count = 0
  inc(n = 1): void {
    this.count += n
  }
  dec(n = 1): void {
    this.count -= n
  }
  getCount(): number {
    return this.count
  }
}

/** Events per second over the last minute, from the counts the slot samples when it reports. */
class MeterView implements Meter {
  private count = 0
  private readonly history: Array<{ at: number; count: number }> = []
  private rate = 0
  markEvent(n = 1): void {
    this.count += n
  }
  getCount(): number {
    return this.count
  }
  getRate(): number {
    return this.rate
  }
  /** Called by the slot when it samples (not per event). */
  sample(now: number): void {
    this.history.push({ at: now, count: this.count })
    while (this.history.length > 2 && now - this.history[1]!.at >= 60_000) this.history.shift()
    const first = this.history[0]!
    const seconds = (now - first.at) / 1000
    this.rate = seconds > 0 ? (this.count - first.count) / seconds : 0
  }
}

class WindowHistogram implements Histogram {
  private readonly values: Float64Array
  private next = 0
  private count = 0
  constructor(size: number) {
    this.values = new Float64Array(size)
  }
  update(value: number): void {
    this.values[this.next] = value
    this.next = this.next + 1 === this.values.length ? 0 : this.next + 1
    this.count++
  }
  getCount(): number {
    return this.count
  }
  getStatistics(): HistogramStatistics {
    const n = Math.min(this.count, this.values.length)
    if (n === 0) return { count: this.count, min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p75: 0, p95: 0, p98: 0, p99: 0, p999: 0 }
    const sorted = this.values.slice(0, n).sort()
    let sum = 0
    for (let i = 0; i < n; i++) sum += sorted[i]!
    const mean = sum / n
    let sq = 0
    for (let i = 0; i < n; i++) sq += (sorted[i]! - mean) ** 2
    const q = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!
    return {
      count: this.count, min: sorted[0]!, max: sorted[n - 1]!, mean, stddev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
      p50: q(0.5), p75: q(0.75), p95: q(0.95), p98: q(0.98), p99: q(0.99), p999: q(0.999),
    }
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

type Registered =
  | { kind: 'counter'; name: string; metric: SimpleCounter }
  | { kind: 'gauge'; name: string; metric: Gauge<number> }
  | { kind: 'meter'; name: string; metric: MeterView }
  | { kind: 'histogram'; name: string; metric: WindowHistogram }

/** The metrics one operator of one subtask registered. */
export class OperatorMetricGroup implements MetricGroup {
  private readonly metrics = new Map<string, Registered>()

  constructor(readonly operatorName: string) {}

  counter(name: string): Counter {
    return this.register(name, 'counter', () => new SimpleCounter()) as SimpleCounter
  }

  gauge<T extends number>(name: string, gauge: (() => T) | Gauge<T>): Gauge<T> {
    const g: Gauge<T> = typeof gauge === 'function' ? { getValue: gauge } : gauge
    if (typeof g?.getValue !== 'function') throw new UserError('WEIR_INVALID_ARGUMENT', `gauge '${name}' in '${this.operatorName}': pass a function returning a number, or an object with getValue()`)
    return this.register(name, 'gauge', () => g) as Gauge<T>
  }

  histogram(name: string, windowSize = 1024): Histogram {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `histogram '${name}' in '${this.operatorName}': windowSize must be a positive integer, got ${windowSize}`)
    return this.register(name, 'histogram', () => new WindowHistogram(windowSize)) as WindowHistogram
  }

  meter(name: string): Meter {
    return this.register(name, 'meter', () => new MeterView()) as MeterView
  }

  /** The current values, for the slot's report. */
  sample(now: number, into: UserMetricSample[]): void {
    const operator = this.operatorName
    for (const r of this.metrics.values()) {
      switch (r.kind) {
        case 'counter':
          into.push({ kind: 'counter', operator, name: r.name, count: r.metric.getCount() })
          break
        case 'gauge': {
          let value: number
          try {
            value = Number(r.metric.getValue())
          } catch {
            value = NaN // a throwing gauge reports no value rather than failing the task
          }
          into.push({ kind: 'gauge', operator, name: r.name, value })
          break
        }
        case 'meter':
          r.metric.sample(now)
          into.push({ kind: 'meter', operator, name: r.name, count: r.metric.getCount(), rate: r.metric.getRate() })
          break
        case 'histogram':
          into.push({ kind: 'histogram', operator, name: r.name, stats: r.metric.getStatistics() })
          break
      }
    }
  }

  get size(): number {
    return this.metrics.size
  }

  private register(name: string, kind: Registered['kind'], create: () => unknown): unknown {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new UserError('WEIR_INVALID_ARGUMENT', `metric name '${String(name)}' in '${this.operatorName}' is not valid: use letters, digits and underscores, starting with a letter`)
    }
    const existing = this.metrics.get(name)
    if (existing) {
      // Flink keeps the first registration; registering the same kind again returns it.
      if (existing.kind === kind) return existing.metric
      throw new UserError('WEIR_INVALID_ARGUMENT', `metric '${name}' in '${this.operatorName}' is already a ${existing.kind}; choose another name for the ${kind}`)
    }
    const metric = create()
    this.metrics.set(name, { kind, name, metric } as Registered)
    return metric
  }
}
