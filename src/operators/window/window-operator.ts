// The window operator, with Flink's WindowOperator semantics: the assigner puts each element in
// its windows (merging session windows through a MergingWindowSet), the trigger decides when a
// window fires and purges, allowed lateness keeps windows (and late firings) after the
// watermark passed their end, and late elements go to a side output or are dropped. Window
// contents, trigger state, per-window function state, the merging set and the timers are all
// keyed state in the operator's backend, under the window's namespace: checkpointed and
// rescaled with the key. Tumbling and sliding windows with an incremental function and the
// default trigger take the sliced path instead (sliced-window-operator.ts).

import { BaseOperator } from '../operator.ts'
import type { StateDescriptor } from '../../api/state.ts'
import { MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor } from '../../api/state.ts'
import type { StateFor } from '../../state/keyed-state-backend.ts'
import { mergesByOverlap } from '../../api/windowing/assigners.ts'
import { isFire, isPurge, type OnMergeContext, type Trigger, type TriggerResult } from '../../api/windowing/triggers.ts'
import { windowFromNamespace, windowNamespace, type Window } from '../../api/windowing/windows.ts'
import type { TimestampedValue } from '../../api/windowing/evictors.ts'
import { ListContents, Namespace, NamespacedStateStore } from './namespaced-state.ts'
import { MergingWindowSet } from './merging-window-set.ts'
import { WindowEmitter } from './window-emitter.ts'
import type { WindowSpec } from './window-spec.ts'
import { reducer } from './window-spec.ts'
import { UserError } from '../../errors.ts'

export class WindowOperator extends BaseOperator<unknown, unknown> {
  private trigger!: Trigger<unknown, Window>
  private readonly triggerNs = new Namespace()
  private triggerStates!: NamespacedStateStore
  /** Reduced / aggregated contents (no evictor). */
  private accumulators!: NamespacedStateStore
  private accumulatorDescriptor: StateDescriptor | null = null
  /** Element lists (process without incremental function, or any evictor). */
  private lists: ListContents | null = null
  private emitter!: WindowEmitter
  private mergingState: ReturnType<typeof this.mergingStateFor> | null = null
  private readonly triggerContext: WindowTriggerContext
  private readonly merging: boolean
  private readonly eventTime: boolean
  private readonly mergeFn: ((a: unknown, b: unknown) => unknown) | null = null

  constructor(private readonly spec: WindowSpec) {
    super()
    this.merging = typeof spec.assigner.mergeWindows === 'function'
    this.eventTime = spec.assigner.isEventTime
    this.triggerContext = new WindowTriggerContext(this)
  }

  protected override functionForState(): unknown {
    return this.spec.windowFunction
  }

  override open(): void {
    const spec = this.spec
    const backend = this.ctx.keyedBackend!
    this.trigger = spec.trigger ?? spec.assigner.getDefaultTrigger()
    if (this.merging && this.trigger.canMerge?.() !== true) throw new UserError('WEIR_INVALID_JOB', `the trigger ${this.trigger.toString?.() ?? ''} cannot be used with merging (session) windows: it does not implement canMerge() and onMerge()`)
    this.triggerStates = new NamespacedStateStore(backend, this.triggerNs, 'window-trigger/')
    const contentNs = new Namespace()
    this.accumulators = new NamespacedStateStore(backend, contentNs, '')
    if (spec.evictor !== null || spec.contents.kind === 'list') {
      this.lists = new ListContents(backend)
    } else if (spec.contents.kind === 'reduce') {
      this.accumulatorDescriptor = new ReducingStateDescriptor<unknown>('window-contents', reducer(spec.contents.reduce))
    } else {
      this.accumulatorDescriptor = new AggregatingStateDescriptor<unknown, unknown, unknown>('window-contents', spec.contents.aggregate)
    }
    this.contentNs = contentNs
    this.emitter = new WindowEmitter(spec, this.ctx, this.output)
    this.emitter.open()
    this.notificationTarget = spec.windowFunction
  }
  private contentNs!: Namespace

  private mergingStateFor() {
    return this.ctx.keyedBackend!.getState(new MapStateDescriptor<string, string>('window-merging-set'))
  }

  processElement(element: unknown): void {
    const backend = this.ctx.keyedBackend!
    const spec = this.spec
    const timestamp = this.ctx.time.value
    let windows: Window[]
    try {
      backend.setCurrentKey(spec.keySelector(element))
      windows = spec.assigner.assignWindows(element, timestamp, this.triggerContext)
    } catch (e) {
      throw this.userError(e)
    }
    let skipped = true
    if (this.merging) {
      const set = this.mergingSet()
      for (const w of windows) {
        const ns = windowNamespace(w)
        const actual = set.addWindow(ns, (mergeResult, mergedWindows, stateWindowResult, mergedStateWindows) => {
          const result = windowFromNamespace(mergeResult)
          if (this.eventTime && this.cleanupTime(result) <= this.currentWatermark()) {
            throw new UserError('WEIR_INVALID_JOB', `the end of a merged event-time window (${result.toString()}) cannot be earlier than the current watermark`)
          }
          this.onMergeTrigger(mergeResult, mergedWindows)
          for (const m of mergedWindows) {
            this.setTriggerWindow(m)
            this.trigger.clear(windowFromNamespace(m), this.triggerContext)
            this.deleteCleanupTimer(m)
            this.triggerStates.clearNamespace(m)
          }
          this.mergeContents(stateWindowResult, mergedStateWindows)
        })
        const actualWindow = windowFromNamespace(actual)
        if (this.isWindowLate(actualWindow)) {
          set.retireWindow(actual)
          continue
        }
        skipped = false
        const stateWindow = set.getStateWindow(actual)!
        this.addToContents(stateWindow, element, timestamp)
        this.setTriggerWindow(actual)
        const result = this.callTrigger(() => this.trigger.onElement(element, timestamp, actualWindow, this.triggerContext))
        this.act(result, actual, actualWindow, stateWindow)
        this.registerCleanupTimer(actualWindow, actual)
      }
      set.persist()
    } else {
      for (const w of windows) {
        if (this.isWindowLate(w)) continue
        skipped = false
        const ns = windowNamespace(w)
        this.addToContents(ns, element, timestamp)
        this.setTriggerWindow(ns)
        const result = this.callTrigger(() => this.trigger.onElement(element, timestamp, w, this.triggerContext))
        this.act(result, ns, w, ns)
        this.registerCleanupTimer(w, ns)
      }
    }
    if (skipped && this.isElementLate(timestamp)) {
      if (spec.lateDataTag !== null) this.output.collectSide(spec.lateDataTag, element)
    }
  }

  override onEventTime(time: number, ns: string): void {
    this.onTimer(time, ns, true)
  }

  onProcessingTime(time: number, ns?: string): void {
    this.onTimer(time, ns ?? '', false)
  }

  private onTimer(time: number, ns: string, eventTime: boolean): void {
    const window = windowFromNamespace(ns)
    let stateWindow = ns
    let set: MergingWindowSet | null = null
    if (this.merging) {
      set = this.mergingSet()
      const s = set.getStateWindow(ns)
      // A timer of a window that was merged away (its timers deleted lazily): nothing to do.
      if (s === undefined) return
      stateWindow = s
    }
    this.setTriggerWindow(ns)
    const result = this.callTrigger(() => (eventTime ? this.trigger.onEventTime(time, window, this.triggerContext) : this.trigger.onProcessingTime(time, window, this.triggerContext)))
    this.act(result, ns, window, stateWindow)
    if (eventTime === this.eventTime && this.cleanupTime(window) === time) this.clearAllState(ns, window, stateWindow, set)
    set?.persist()
  }

  /** FIRE emits the window's contents; PURGE drops them. */
  private act(result: TriggerResult, ns: string, window: Window, stateWindow: string): void {
    if (isFire(result)) this.emit(window, stateWindow)
    if (isPurge(result)) this.clearContents(stateWindow)
  }

  private emit(window: Window, stateWindow: string): void {
    const key = this.ctx.keyedBackend!.currentKey
    if (this.lists !== null) {
      const entries = this.lists.get(stateWindow)
      if (entries.length === 0) return
      const evictor = this.spec.evictor
      if (evictor === null) {
        this.emitter.emitElements(key, window, entries.map((e) => e[0]))
        return
      }
      const elements: TimestampedValue<unknown>[] = entries.map((e) => ({ value: e[0], timestamp: e[1] }))
      const ectx = { getCurrentProcessingTime: () => Date.now(), getCurrentWatermark: () => this.currentWatermark() }
      try {
        evictor.evictBefore(elements, elements.length, window, ectx)
      } catch (e) {
        throw this.userError(e)
      }
      this.emitter.emitEvicted(key, window, elements.map((e) => e.value))
      try {
        evictor.evictAfter(elements, elements.length, window, ectx)
      } catch (e) {
        throw this.userError(e)
      }
      this.lists.replace(stateWindow, elements.map((e) => [e.value, e.timestamp] as const))
      return
    }
    this.contentNs.current = stateWindow
    const state = this.accumulators.getState(this.accumulatorDescriptor!) as { get(): unknown }
    const value = state.get()
    if (value === undefined) return
    this.emitter.emitElements(key, window, [value])
  }

  private addToContents(stateWindow: string, element: unknown, timestamp: number): void {
    if (this.lists !== null) {
      this.lists.add(stateWindow, element, timestamp)
      return
    }
    this.contentNs.current = stateWindow
    try {
      ;(this.accumulators.getState(this.accumulatorDescriptor!) as { add(v: unknown): void }).add(element)
    } catch (e) {
      throw this.userError(e)
    }
  }

  private mergeContents(target: string, sources: string[]): void {
    if (sources.length === 0) return
    if (this.lists !== null) this.lists.merge(target, sources)
    else {
      try {
        this.accumulators.merge(this.accumulatorDescriptor!, target, sources)
      } catch (e) {
        throw this.userError(e)
      }
    }
  }

  private clearContents(stateWindow: string): void {
    if (this.lists !== null) this.lists.clear(stateWindow)
    else {
      this.contentNs.current = stateWindow
      ;(this.accumulators.getState(this.accumulatorDescriptor!) as { clear(): void }).clear()
    }
  }

  private clearAllState(ns: string, window: Window, stateWindow: string, set: MergingWindowSet | null): void {
    this.clearContents(stateWindow)
    this.setTriggerWindow(ns)
    this.callTrigger(() => {
      this.trigger.clear(window, this.triggerContext)
      return 0
    })
    this.triggerStates.clearNamespace(ns)
    this.emitter.clearWindow(this.ctx.keyedBackend!.currentKey, window)
    set?.retireWindow(ns)
  }

  private onMergeTrigger(mergeResult: string, mergedWindows: string[]): void {
    this.setTriggerWindow(mergeResult)
    this.triggerContext.mergedWindows = mergedWindows
    try {
      this.trigger.onMerge?.(windowFromNamespace(mergeResult), this.triggerContext)
    } catch (e) {
      throw this.userError(e)
    }
  }

  /**
   * The current key's merging window set. The last key's is kept: every change of the stored set
   * goes through it (and is persisted at once), so it stays equal to the state while the key is
   * current again, as it mostly is for consecutive records of a session.
   */
  private mergingSet(): MergingWindowSet {
    this.mergingState ??= this.mergingStateFor()
    const key = this.ctx.keyedBackend!.currentKey
    if (this.lastSet !== null && this.lastSetKey === key) return this.lastSet
    this.mergeWindowsFn ??= this.spec.assigner.mergeWindows!.bind(this.spec.assigner)
    this.lastSet = new MergingWindowSet(this.mergingState, this.mergeWindowsFn, mergesByOverlap(this.spec.assigner))
    this.lastSetKey = key
    return this.lastSet
  }
  private lastSet: MergingWindowSet | null = null
  private lastSetKey: unknown = undefined
  private mergeWindowsFn: ConstructorParameters<typeof MergingWindowSet>[1] | null = null

  private callTrigger(fn: () => TriggerResult): TriggerResult {
    try {
      return fn()
    } catch (e) {
      throw this.userError(e)
    }
  }

  private setTriggerWindow(ns: string): void {
    this.triggerNs.current = ns
    this.triggerContext.ns = ns
  }

  /** @internal */
  currentWatermark(): number {
    return this.ctx.internalTimers!.currentWatermark
  }

  private cleanupTime(window: Window): number {
    const max = window.maxTimestamp()
    return this.eventTime ? max + this.spec.allowedLateness : max
  }

  private isWindowLate(window: Window): boolean {
    return this.eventTime && this.cleanupTime(window) <= this.currentWatermark()
  }

  private isElementLate(timestamp: number): boolean {
    return this.eventTime && timestamp + this.spec.allowedLateness <= this.currentWatermark()
  }

  private registerCleanupTimer(window: Window, ns: string): void {
    const t = this.cleanupTime(window)
    if (t === Infinity) return
    if (this.eventTime) this.ctx.internalTimers!.registerEventTimeTimer(t, ns)
    else this.ctx.internalTimers!.registerProcessingTimeTimer(t, ns)
  }

  private deleteCleanupTimer(ns: string): void {
    const t = this.cleanupTime(windowFromNamespace(ns))
    if (t === Infinity) return
    if (this.eventTime) this.ctx.internalTimers!.deleteEventTimeTimer(t, ns)
    else this.ctx.internalTimers!.deleteProcessingTimeTimer(t, ns)
  }

  override close(): void {
    this.emitter?.close()
  }

  /** @internal for the trigger context */
  get timers() {
    return this.ctx.internalTimers!
  }

  /** @internal for the trigger context */
  triggerState<D extends StateDescriptor>(d: D): StateFor<D> {
    return this.triggerStates.getState(d)
  }

  /** @internal for the trigger context */
  mergeTriggerState(d: StateDescriptor, target: string, sources: string[]): void {
    this.triggerStates.merge(d, target, sources)
  }
}

/** The context triggers get: timers and state of the current key and window. One object, reused. */
class WindowTriggerContext implements OnMergeContext {
  ns = ''
  mergedWindows: string[] = []
  constructor(private readonly op: WindowOperator) {}
  getCurrentWatermark(): number {
    return this.op.currentWatermark()
  }
  getCurrentProcessingTime(): number {
    return this.op.timers.currentProcessingTime()
  }
  currentProcessingTime(): number {
    return this.op.timers.currentProcessingTime()
  }
  registerEventTimeTimer(time: number): void {
    this.op.timers.registerEventTimeTimer(time, this.ns)
  }
  registerProcessingTimeTimer(time: number): void {
    this.op.timers.registerProcessingTimeTimer(time, this.ns)
  }
  deleteEventTimeTimer(time: number): void {
    this.op.timers.deleteEventTimeTimer(time, this.ns)
  }
  deleteProcessingTimeTimer(time: number): void {
    this.op.timers.deleteProcessingTimeTimer(time, this.ns)
  }
  getPartitionedState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    return this.op.triggerState(descriptor)
  }
  mergePartitionedState(descriptor: StateDescriptor): void {
    this.op.mergeTriggerState(descriptor, this.ns, this.mergedWindows)
  }
}
