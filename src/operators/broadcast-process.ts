// The operator behind stream.connect(broadcastStream).process(...): records of the main input
// see the broadcast state read-only; records of the broadcast input (sent to every subtask)
// update it. Broadcast state is operator state in 'broadcast' mode: the same on every subtask,
// so a restore at any parallelism gives each subtask a copy.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type KeySelector, type BroadcastProcessFunction, type KeyedBroadcastProcessFunction, type ReadOnlyMapState } from '../api/functions.ts'
import type { MapState, MapStateDescriptor } from '../api/state.ts'
import { OperatorStateBackend, type OperatorStateSnapshot } from '../state/operator-state-store.ts'
import { UserError } from '../errors.ts'
import { StreamProcessContext } from './process-context.ts'

type AnyBroadcastFunction = BroadcastProcessFunction<unknown, unknown, unknown> | KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>

export class BroadcastProcessOperator extends BaseOperator<unknown, unknown> {
  private readonly allowed: Set<string>
  private readOnlyContext!: object
  private writableContext!: object

  constructor(private readonly fn: AnyBroadcastFunction, private readonly keySelector: KeySelector<unknown, unknown> | null, descriptors: readonly MapStateDescriptor<unknown, unknown>[]) {
    super()
    this.allowed = new Set(descriptors.map((d) => d.name))
  }

  private buildContexts(): void {
    const op = this
    const base = new StreamProcessContext<unknown>(this.ctx, this.output, 'call keyBy(...) before connect(broadcastStream)')
    this.processContext = base
    const readOnly = Object.create(base) as StreamProcessContext<unknown> & Record<string, unknown>
    readOnly.getBroadcastState = (d: MapStateDescriptor<unknown, unknown>): ReadOnlyMapState<unknown, unknown> => {
      const s = op.state(d)
      return { get: (k) => s.get(k), contains: (k) => s.contains(k), entries: () => s.entries(), isEmpty: () => s.isEmpty() }
    }
    const writable = Object.create(base) as StreamProcessContext<unknown> & Record<string, unknown>
    writable.getBroadcastState = (d: MapStateDescriptor<unknown, unknown>) => op.state(d)
    this.readOnlyContext = readOnly
    this.writableContext = writable
  }
  private processContext!: StreamProcessContext<unknown>

  protected override functionForState(): unknown {
    return this.fn
  }

  override initializeState(states: unknown[], isRestored: boolean, operatorState: OperatorStateSnapshot = {}): void {
    // Broadcast state always lives here, whether or not the function asks for the store itself.
    this.operatorStateBackend = new OperatorStateBackend(operatorState)
    const fn = this.fn as { initializeState?: (ctx: unknown) => void }
    if (typeof fn.initializeState === 'function') {
      try {
        fn.initializeState({ isRestored, getOperatorStateStore: () => this.operatorStateBackend })
      } catch (e) {
        throw this.userError(e)
      }
    }
    void states
  }

  override open(): void {
    this.buildContexts()
    this.notificationTarget = this.fn
    openFunction(this.fn, this.ctx.runtimeContext)
  }

  processElement(record: unknown): void {
    try {
      if (this.keySelector) this.ctx.keyedBackend!.setCurrentKey(this.keySelector(record))
      this.fn.processElement(record, this.readOnlyContext as never, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }

  processElement2(record: unknown): void {
    try {
      this.fn.processBroadcastElement(record, this.writableContext as never, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }

  override onEventTime(time: number): void {
    this.fire(time, 'EVENT_TIME')
  }
  onProcessingTime(time: number): void {
    this.fire(time, 'PROCESSING_TIME')
  }
  private fire(time: number, domain: 'EVENT_TIME' | 'PROCESSING_TIME'): void {
    const fn = this.fn as KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>
    if (!fn.onTimer) return
    this.processContext.domain = domain
    try {
      fn.onTimer(time, this.readOnlyContext as never, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }

  override close(): void {
    closeFunction(this.fn)
  }

  private state(d: MapStateDescriptor<unknown, unknown>): MapState<unknown, unknown> {
    if (!this.allowed.has(d.name)) throw new UserError('WEIR_INVALID_JOB', `broadcast state '${d.name}' was not declared in broadcast(...) for this connection`)
    return this.operatorStateBackend!.getBroadcastState(d)
  }
}
