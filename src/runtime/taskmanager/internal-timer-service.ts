// The timers of one keyed operator, event time and processing time, each optionally in a
// namespace (a window). Every timer is stored in the operator's keyed state backend, in a map
// state of the timer's key, so timers are checkpointed (incrementally on LMDB), restored and
// redistributed by key group exactly like the rest of the keyed state; two in-memory heaps
// order them for firing and are rebuilt from the backend on a restore.

import { MapStateDescriptor, type MapState } from '../../api/state.ts'
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts'
import type { InternalTimers, RecordTime, TimerTarget } from '../../operators/operator.ts'
import { MIN_WATERMARK, NO_TIMESTAMP } from '../network/events.ts'
import { TimerQueue } from './timer-service.ts'

/** The reserved state that holds the timers of every key. */
export const TIMER_STATE = '__weir/timers'
/** The namespace of timers outside any window. */
export const NO_NAMESPACE = ''

const EVENT = 0
const PROCESSING = 1
type StoredTimer = [domain: 0 | 1, time: number, namespace: string]

export class InternalTimerService implements InternalTimers {
  currentWatermark = MIN_WATERMARK
  private readonly eventTimers = new TimerQueue()
  private readonly processingTimers = new TimerQueue()
  private stored: MapState<string, StoredTimer> | null = null

  constructor(
    private readonly backend: KeyedStateBackend,
    private readonly time: RecordTime,
    /** Makes sure the task wakes up at `time` to fire processing-time timers. */
    private readonly armProcessing: (time: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  currentProcessingTime(): number {
    return this.now()
  }

  registerEventTimeTimer(time: number, namespace: string = NO_NAMESPACE): void {
    const b = this.backend
    if (this.eventTimers.register(time, b.currentKey, b.currentMapKey, namespace)) this.state().put(`e${time}|${namespace}`, [EVENT, time, namespace])
  }

  deleteEventTimeTimer(time: number, namespace: string = NO_NAMESPACE): void {
    if (this.eventTimers.delete(time, this.backend.currentMapKey, namespace)) this.state().remove(`e${time}|${namespace}`)
  }

  registerProcessingTimeTimer(time: number, namespace: string = NO_NAMESPACE): void {
    const b = this.backend
    if (this.processingTimers.register(time, b.currentKey, b.currentMapKey, namespace)) {
      this.state().put(`p${time}|${namespace}`, [PROCESSING, time, namespace])
      this.armProcessing(time)
    }
  }

  deleteProcessingTimeTimer(time: number, namespace: string = NO_NAMESPACE): void {
    if (this.processingTimers.delete(time, this.backend.currentMapKey, namespace)) this.state().remove(`p${time}|${namespace}`)
  }

  /**
   * The watermark reached `watermark`: fire every event-time timer at or before it, earliest
   * first, with its key current and its time as the timestamp of what it emits.
   */
  advanceWatermark(watermark: number, target: TimerTarget): void {
    this.currentWatermark = watermark
    const queue = this.eventTimers
    if (queue.nextTime() > watermark) return
    const saved = this.time.value
    const b = this.backend
    for (let t = queue.pollDue(watermark); t !== undefined; t = queue.pollDue(watermark)) {
      b.setCurrentKey(t.key)
      const ns = t.namespace ?? NO_NAMESPACE
      this.state().remove(`e${t.time}|${ns}`)
      this.time.value = t.time
      target.onEventTime?.(t.time, ns)
    }
    this.time.value = saved
  }

  /** Fires the processing-time timers due at `now`; what they emit has no timestamp, as in Flink. */
  fireProcessingTimers(now: number, target: TimerTarget): void {
    const queue = this.processingTimers
    const saved = this.time.value
    const b = this.backend
    for (let t = queue.pollDue(now); t !== undefined; t = queue.pollDue(now)) {
      b.setCurrentKey(t.key)
      const ns = t.namespace ?? NO_NAMESPACE
      this.state().remove(`p${t.time}|${ns}`)
      this.time.value = NO_TIMESTAMP
      target.onProcessingTime?.(t.time, ns)
    }
    this.time.value = saved
  }

  nextProcessingTime(): number {
    return this.processingTimers.nextTime()
  }

  /** Pending event-time timers (for tests and metrics). */
  numEventTimeTimers(): number {
    return this.eventTimers.size()
  }

  numProcessingTimeTimers(): number {
    return this.processingTimers.size()
  }

  /** After the backend restored its key groups: rebuild the heaps from the stored timers. */
  restoreTimers(): void {
    const b = this.backend
    const keys = [...b.keys(TIMER_STATE)]
    if (keys.length === 0) return
    const state = this.state()
    const saved = b.currentKey
    for (const key of keys) {
      b.setCurrentKey(key)
      for (const [domain, time, namespace] of state.values()) {
        const queue = domain === EVENT ? this.eventTimers : this.processingTimers
        queue.register(time, b.currentKey, b.currentMapKey, namespace)
      }
    }
    b.setCurrentKey(saved)
    this.armProcessing(this.processingTimers.nextTime())
  }

  private state(): MapState<string, StoredTimer> {
    return (this.stored ??= this.backend.getState(new MapStateDescriptor<string, StoredTimer>(TIMER_STATE)))
  }
}
