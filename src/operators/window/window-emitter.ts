// Calls a window's function when the window fires: the reduced or aggregated value itself, or a
// ProcessWindowFunction with its context (the window, time, per-window and per-key state, side
// outputs). What it emits carries the window's maxTimestamp() as its timestamp, as in Flink.

import type { Collector } from '../../api/functions.ts'
import { openFunction, closeFunction } from '../../api/functions.ts'
import type { OutputTag } from '../../api/output-tag.ts'
import type { KeyedStateStore, ProcessWindowFunctionContext } from '../../api/windowing/window-functions.ts'
import { windowNamespace, type Window } from '../../api/windowing/windows.ts'
import type { OperatorContext, Output } from '../operator.ts'
import { Namespace, NamespacedStateStore } from './namespaced-state.ts'
import { reducer, type WindowSpec } from './window-spec.ts'
import { UserFunctionError } from '../../errors.ts'

type ProcessFn = (key: unknown, ctx: ProcessWindowFunctionContext<Window>, elements: Iterable<unknown>, out: Collector<unknown>) => void

export class WindowEmitter implements ProcessWindowFunctionContext<Window> {
  private current: Window | null = null
  private readonly windowNs = new Namespace()
  private windowStore: NamespacedStateStore | null = null
  private readonly process: ProcessFn | null
  private readonly clearFn: ((ctx: ProcessWindowFunctionContext<Window>) => void) | null

  constructor(private readonly spec: WindowSpec, private readonly ctx: OperatorContext, private readonly out: Output<unknown>) {
    const f = spec.windowFunction
    if (f === null) {
      this.process = null
      this.clearFn = null
    } else if (typeof f === 'function') {
      this.process = spec.allWindows ? (_k, c, e, o) => (f as unknown as (c: unknown, e: unknown, o: unknown) => void)(c, e, o) : f
      this.clearFn = null
    } else {
      this.process = spec.allWindows ? (_k, c, e, o) => (f.process as unknown as (c: unknown, e: unknown, o: unknown) => void).call(f, c, e, o) : f.process.bind(f)
      this.clearFn = f.clear ? f.clear.bind(f) : null
    }
  }

  open(): void {
    const f = this.spec.windowFunction
    if (f !== null) openFunction(f, this.ctx.runtimeContext)
  }

  close(): void {
    const f = this.spec.windowFunction
    if (f !== null) closeFunction(f)
  }

  /** The window's contents as stored: one aggregated value, or the elements (no evictor). */
  emitElements(key: unknown, window: Window, values: readonly unknown[]): void {
    const time = this.ctx.time
    const saved = time.value
    time.value = window.maxTimestamp()
    try {
      if (this.process === null) {
        for (const v of values) this.out.collect(v)
      } else {
        this.call(key, window, values)
      }
    } finally {
      time.value = saved
    }
  }

  /** Elements left by an evictor: an incremental function is applied to them now. */
  emitEvicted(key: unknown, window: Window, values: readonly unknown[]): void {
    const c = this.spec.contents
    if (c.kind === 'list') return this.emitElements(key, window, values)
    if (values.length === 0) return
    let result: unknown
    try {
      if (c.kind === 'reduce') {
        const reduce = reducer(c.reduce)
        result = values.reduce((a, b) => reduce(a, b))
      } else {
        let acc = c.aggregate.createAccumulator()
        for (const v of values) acc = c.aggregate.add(v, acc)
        result = c.aggregate.getResult(acc)
      }
    } catch (e) {
      throw new UserFunctionError(this.ctx.location, e)
    }
    this.emitElements(key, window, [result])
  }

  /** Whether clearWindow has anything to do (a clear() function, or per-window state in use). */
  get clearsWindows(): boolean {
    return this.clearFn !== null || this.windowStore !== null
  }

  /** The window is gone for good: the function's clear() and its per-window state. */
  clearWindow(key: unknown, window: Window): void {
    if (this.clearFn !== null) {
      this.current = window
      this.windowNs.current = windowNamespace(window)
      try {
        this.clearFn(this)
      } catch (e) {
        throw new UserFunctionError(this.ctx.location, e)
      }
    }
    void key
    this.windowStore?.clearNamespace(windowNamespace(window))
  }

  private call(key: unknown, window: Window, values: readonly unknown[]): void {
    this.current = window
    // The namespace string only when the function uses per-window state (see windowState()).
    if (this.windowStore !== null) this.windowNs.current = windowNamespace(window)
    try {
      this.process!(key, this, values, this.out)
    } catch (e) {
      throw e instanceof UserFunctionError ? e : new UserFunctionError(this.ctx.location, e)
    }
  }

  // ProcessWindowFunctionContext
  window(): Window {
    return this.current!
  }
  currentProcessingTime(): number {
    return this.ctx.internalTimers!.currentProcessingTime()
  }
  currentWatermark(): number {
    return this.ctx.internalTimers!.currentWatermark
  }
  windowState(): KeyedStateStore {
    if (this.windowStore === null) {
      this.windowStore = new NamespacedStateStore(this.ctx.keyedBackend!, this.windowNs, 'window-state/')
      this.windowNs.current = windowNamespace(this.current!)
    }
    const store = this.windowStore
    return {
      getState: (d) => store.getState(d),
      getListState: (d) => store.getState(d),
      getReducingState: (d) => store.getState(d),
      getAggregatingState: (d) => store.getState(d),
    }
  }
  globalState(): KeyedStateStore {
    const b = this.ctx.keyedBackend!
    return {
      getState: (d) => b.getState(d),
      getListState: (d) => b.getState(d),
      getReducingState: (d) => b.getState(d),
      getAggregatingState: (d) => b.getState(d),
    }
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value)
  }
}
