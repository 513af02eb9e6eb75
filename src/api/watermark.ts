// Timestamps and watermarks in Flink's shape: a WatermarkStrategy says how to take an event's
// timestamp (TimestampAssigner) and how to derive watermarks from the events seen
// (WatermarkGenerator: on each event and/or periodically, every pipeline.auto-watermark-interval).
// Durations are milliseconds.

import { UserError } from '../errors.ts'

/** Where a generator emits watermarks. `emitWatermark` ignores a watermark that does not advance. */
export interface WatermarkOutput {
  emitWatermark(time: number): void
  /** No more watermarks for now: downstream leaves this output out of its minimum. */
  markIdle(): void
  markActive(): void
}

export interface WatermarkGenerator<T> {
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void
  onPeriodicEmit(output: WatermarkOutput): void
}

/** The event's timestamp in ms; `recordTimestamp` is the one the source gave (or -Infinity). */
export type TimestampAssigner<T> = ((event: T, recordTimestamp: number) => number) | { extractTimestamp(event: T, recordTimestamp: number): number }

/** A supplier of generators: one per source split, or one per parallel instance of an assigner. */
export type WatermarkGeneratorSupplier<T> = (ctx: WatermarkGeneratorContext) => WatermarkGenerator<T>

export interface WatermarkGeneratorContext {
  readonly subtaskIndex: number
}

/** A monotonic clock in ms, so idleness can be tested with simulated time. */
export type IdlenessClock = () => number

export class WatermarkStrategy<T> {
  private constructor(
    private readonly generator: WatermarkGeneratorSupplier<T>,
    /** null: keep the timestamp the record already has (the source's). */
    readonly timestampAssigner: TimestampAssigner<T> | null,
    readonly idleTimeoutMs: number | null,
    private readonly idlenessClock: IdlenessClock,
    /** False for noWatermarks(): nothing to call periodically. */
    readonly emitsWatermarks: boolean,
  ) {}

  /** Watermarks for timestamps that never decrease: the watermark trails the highest one by 1 ms. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks<T>(0), null, null, performance.now.bind(performance), true)
  }

  /** Events may arrive up to `maxOutOfOrdernessMs` later than a later-stamped event. */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!(maxOutOfOrdernessMs >= 0) || !Number.isFinite(maxOutOfOrdernessMs)) {
      throw new UserError('WEIR_INVALID_ARGUMENT', `WatermarkStrategy.forBoundedOutOfOrderness: expected a non-negative number of ms, got ${maxOutOfOrdernessMs}`)
    }
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks<T>(maxOutOfOrdernessMs), null, null, performance.now.bind(performance), true)
  }

  /** A custom generator; `supplier` is called once per split (sources) or per parallel instance. */
  static forGenerator<T>(supplier: WatermarkGeneratorSupplier<T>): WatermarkStrategy<T> {
    if (typeof supplier !== 'function') throw new UserError('WEIR_INVALID_ARGUMENT', 'WatermarkStrategy.forGenerator: expected a function that returns a WatermarkGenerator')
    return new WatermarkStrategy<T>(supplier, null, null, performance.now.bind(performance), true)
  }

  /** Timestamps only (or none): event time does not advance until the input ends. */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => NO_WATERMARKS as WatermarkGenerator<T>, null, null, performance.now.bind(performance), false)
  }

  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    if (typeof assigner !== 'function' && (typeof assigner !== 'object' || assigner === null || typeof assigner.extractTimestamp !== 'function')) {
      throw new UserError('WEIR_INVALID_ARGUMENT', 'withTimestampAssigner: expected (event, recordTimestamp) => ms or an object with extractTimestamp')
    }
    return new WatermarkStrategy<T>(this.generator, assigner, this.idleTimeoutMs, this.idlenessClock, this.emitsWatermarks)
  }

  /**
   * An input (split) that had no events for `idleTimeoutMs` is marked idle, so it does not hold
   * the watermark back; it becomes active with its next event. `clock` is for tests.
   */
  withIdleness(idleTimeoutMs: number, clock: IdlenessClock = performance.now.bind(performance)): WatermarkStrategy<T> {
    if (!(idleTimeoutMs > 0) || !Number.isFinite(idleTimeoutMs)) throw new UserError('WEIR_INVALID_ARGUMENT', `withIdleness: expected a positive number of ms, got ${idleTimeoutMs}`)
    return new WatermarkStrategy<T>(this.generator, this.timestampAssigner, idleTimeoutMs, clock, this.emitsWatermarks)
  }

  /** @internal A generator for one split or instance, with idleness applied. */
  createWatermarkGenerator(ctx: WatermarkGeneratorContext): WatermarkGenerator<T> {
    let generator: WatermarkGenerator<T>
    try {
      generator = this.generator(ctx)
    } catch (e) {
      throw new UserError('WEIR_INVALID_JOB', `the watermark generator supplier threw: ${(e as Error).message}`, { cause: e })
    }
    if (typeof generator !== 'object' || generator === null || typeof generator.onEvent !== 'function' || typeof generator.onPeriodicEmit !== 'function') {
      throw new UserError('WEIR_INVALID_JOB', 'the watermark generator supplier must return an object with onEvent(event, timestamp, output) and onPeriodicEmit(output)')
    }
    return this.idleTimeoutMs === null ? generator : new WatermarksWithIdleness(generator, this.idleTimeoutMs, this.idlenessClock)
  }

  /** @internal The event's timestamp: the assigner's, or the record's own. */
  createTimestampExtractor(): (event: T, recordTimestamp: number) => number {
    const a = this.timestampAssigner
    if (a === null) return (_e, ts) => ts
    return typeof a === 'function' ? a : a.extractTimestamp.bind(a)
  }
}

/** Flink's BoundedOutOfOrdernessWatermarks: on each periodic emit, the highest timestamp seen minus the bound minus 1. */
export class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  private maxTimestamp: number
  constructor(private readonly outOfOrdernessMs: number) {
    this.maxTimestamp = -Infinity
  }
  onEvent(_event: T, eventTimestamp: number): void {
    if (eventTimestamp > this.maxTimestamp) this.maxTimestamp = eventTimestamp
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.maxTimestamp !== -Infinity) output.emitWatermark(this.maxTimestamp - this.outOfOrdernessMs - 1)
  }
}

const NO_WATERMARKS: WatermarkGenerator<unknown> = { onEvent() {}, onPeriodicEmit() {} }

/**
 * Marks the output idle when no event arrived for the timeout, checked on periodic emits (as
 * Flink's IdlenessTimer); the next event makes it active again.
 */
class WatermarksWithIdleness<T> implements WatermarkGenerator<T> {
  private events = 0
  private lastEvents = 0
  private inactiveSince: number | null = null
  private idle = false
  constructor(private readonly inner: WatermarkGenerator<T>, private readonly timeoutMs: number, private readonly clock: IdlenessClock) {}
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void {
    this.events++
    if (this.idle) {
      this.idle = false
      output.markActive()
    }
    this.inner.onEvent(event, eventTimestamp, output)
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.events !== this.lastEvents) {
      this.lastEvents = this.events
      this.inactiveSince = null
    } else if (this.inactiveSince === null) {
      this.inactiveSince = this.clock()
    } else if (!this.idle && this.clock() - this.inactiveSince >= this.timeoutMs) {
      this.idle = true
      output.markIdle()
    }
    if (!this.idle) this.inner.onPeriodicEmit(output)
  }
}
