// Drives one keyed operator outside a job, the way Flink's KeyedOneInputStreamOperatorTestHarness
// does: records go in with timestamps, watermarks and processing time advance by hand, and what
// the operator emits (records with timestamps, watermarks, side outputs) is collected. Snapshots
// go through the checkpoint codec and restore into a new harness owning any key-group range, so
// tests can restore mid-window and rescale. Both keyed state backends can be used.

import type { KeySelector } from '../api/functions.ts'
import type { RuntimeContext } from '../api/runtime-context.ts'
import { OperatorMetricGroup } from '../metrics/metric-group.ts'
import type { StreamOperator, Output, RecordTime, OperatorContext } from '../operators/operator.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../state/keyed-state-backend.ts'
import { HeapKeyedStateBackend } from '../state/heap/keyed-state-backend.ts'
import { createKeyedStateBackend } from '../state/backend-factory.ts'
import { keyGroupRangeForOperator, type KeyGroupRange } from '../state/key-groups.ts'
import { InternalTimerService } from '../runtime/taskmanager/internal-timer-service.ts'
import { NO_TIMESTAMP } from '../runtime/network/events.ts'
import { decodeValue, encodeValue } from '../runtime/network/batch-codec.ts'
import '../state/lmdb/lmdb-keyed-state-backend.ts'

export interface HarnessOptions {
  readonly backend?: 'hashmap' | 'lmdb'
  readonly maxParallelism?: number
  readonly parallelism?: number
  readonly subtaskIndex?: number
  /** Start of processing time. */
  readonly processingTime?: number
}

export type Emitted =
  | { readonly kind: 'record'; readonly value: unknown; readonly timestamp: number | null }
  | { readonly kind: 'watermark'; readonly time: number }
  | { readonly kind: 'side'; readonly tag: string; readonly value: unknown; readonly timestamp: number | null }

/** What a harness snapshot holds: the keyed state (timers included). */
export interface HarnessSnapshot {
  readonly keyed: KeyedStateSnapshot
}

export class KeyedOperatorHarness<IN, OUT = unknown> {
  readonly output: Emitted[] = []
  readonly backend: KeyedStateBackend
  readonly timers: InternalTimerService
  readonly range: KeyGroupRange
  private readonly time: RecordTime = { value: NO_TIMESTAMP }
  private now: number
  private readonly maxParallelism: number
  private opened = false

  constructor(readonly operator: StreamOperator<IN, OUT>, private readonly keySelector: KeySelector<IN, unknown>, private readonly options: HarnessOptions = {}) {
    this.maxParallelism = options.maxParallelism ?? 128
    this.range = keyGroupRangeForOperator(this.maxParallelism, options.parallelism ?? 1, options.subtaskIndex ?? 0)
    this.now = options.processingTime ?? 0
    const scope = { maxParallelism: this.maxParallelism, operatorUid: 'harness', subtaskIndex: options.subtaskIndex ?? 0 }
    this.backend = options.backend === 'lmdb'
      ? createKeyedStateBackend({ type: 'lmdb', localDir: null, incremental: false, jobId: `harness-${crypto.randomUUID()}`, attempt: 0 }, scope)
      : new HeapKeyedStateBackend(this.maxParallelism)
    this.timers = new InternalTimerService(this.backend, this.time, () => {}, () => this.now)
    const runtimeContext = this.runtimeContext()
    const timers = this.timers
    const ctx: OperatorContext = {
      location: { jobName: 'harness', operatorName: 'harness', uid: 'harness', subtaskIndex: options.subtaskIndex ?? 0, parallelism: options.parallelism ?? 1, attempt: 0 },
      checkpointing: true,
      runtimeContext,
      keyedBackend: this.backend,
      timerService: {
        currentProcessingTime: () => this.now,
        registerProcessingTimeTimer: (t) => timers.registerProcessingTimeTimer(t),
        deleteProcessingTimeTimer: (t) => timers.deleteProcessingTimeTimer(t),
        currentWatermark: () => timers.currentWatermark,
        registerEventTimeTimer: (t) => timers.registerEventTimeTimer(t),
        deleteEventTimeTimer: (t) => timers.deleteEventTimeTimer(t),
      },
      internalTimers: timers,
      time: this.time,
      autoWatermarkInterval: 0,
      post: (action) => action(),
    }
    operator.setup(ctx, this.collectingOutput())
  }

  /** Loads snapshots (the key groups of this harness's range), then opens the operator. */
  open(restore: HarnessSnapshot[] = []): this {
    for (const s of restore) this.backend.restore(s.keyed, this.range)
    this.timers.restoreTimers()
    this.operator.initializeState?.([], restore.length > 0)
    this.operator.open()
    this.opened = true
    return this
  }

  processElement(value: IN, timestamp: number = NO_TIMESTAMP): void {
    this.ensureOpen()
    this.time.value = timestamp
    this.operator.processElement(value)
  }

  processWatermark(time: number): void {
    this.ensureOpen()
    this.operator.processWatermark(time)
  }

  /** Moves processing time to `time`, firing the processing-time timers due. */
  setProcessingTime(time: number): void {
    this.ensureOpen()
    this.now = time
    this.timers.fireProcessingTimers(time, this.operator)
  }

  endInput(): void {
    this.operator.endInput()
  }

  /** The keyed state (with timers) through the checkpoint codec, as a restore reads it. */
  async snapshot(options: { savepoint?: boolean } = {}): Promise<HarnessSnapshot> {
    const capture = this.backend.captureSnapshot(1, { savepoint: options.savepoint ?? true })
    const keyed = await this.backend.materializeSnapshot(capture)
    return { keyed: decodeValue<KeyedStateSnapshot>(encodeValue(keyed)) }
  }

  /** Emitted records' values, in order (and clears them when `clear`). */
  records(clear = false): OUT[] {
    const values = this.output.filter((e) => e.kind === 'record').map((e) => (e as { value: unknown }).value as OUT)
    if (clear) this.output.length = 0
    return values
  }

  sideOutput(tag: string): unknown[] {
    return this.output.filter((e) => e.kind === 'side' && e.tag === tag).map((e) => (e as { value: unknown }).value)
  }

  watermarks(): number[] {
    return this.output.filter((e) => e.kind === 'watermark').map((e) => (e as { time: number }).time)
  }

  clearOutput(): void {
    this.output.length = 0
  }

  close(): void {
    this.operator.close()
    this.backend.dispose()
  }

  private ensureOpen(): void {
    if (!this.opened) this.open()
  }

  private collectingOutput(): Output<OUT> {
    const out = this.output
    const time = this.time
    const ts = () => (time.value === NO_TIMESTAMP ? null : time.value)
    return {
      collect: (value) => out.push({ kind: 'record', value, timestamp: ts() }),
      emitWatermark: (t) => out.push({ kind: 'watermark', time: t }),
      emitWatermarkStatus: () => {},
      collectSide: (tag, value) => out.push({ kind: 'side', tag, value, timestamp: ts() }),
    }
  }

  private runtimeContext(): RuntimeContext {
    const b = this.backend
    const metrics = this.metricGroup
    return {
      getMetricGroup: () => metrics,
      jobName: 'harness', operatorName: 'harness',
      subtaskIndex: this.options.subtaskIndex ?? 0, parallelism: this.options.parallelism ?? 1, maxParallelism: this.maxParallelism, attemptNumber: 0,
      getState: (d) => b.getState(d), getListState: (d) => b.getState(d), getMapState: (d) => b.getState(d),
      getReducingState: (d) => b.getState(d), getAggregatingState: (d) => b.getState(d),
    }
  }

  /** The user metrics the operator's function registered (tests read them). */
  readonly metricGroup = new OperatorMetricGroup('harness')

  /** @internal for tests that need the key selector */
  get selector(): KeySelector<IN, unknown> {
    return this.keySelector
  }
}
