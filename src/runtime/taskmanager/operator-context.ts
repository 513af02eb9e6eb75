// What an operator of a task's chain is given at setup: its runtime context (keyed state,
// metrics, names), its keyed state backend and timer services when it runs on a keyed stream,
// and the task's shared record time. Also the source reader's context. Keyed operators are
// registered with the task here, since each gets its own backend.

import type { JobVertex } from '../../graph/job-graph.ts'
import type { TimerService } from '../../api/functions.ts'
import type { RuntimeContext } from '../../api/runtime-context.ts'
import type { StateDescriptor } from '../../api/state.ts'
import type { SourceReaderContext } from '../../api/source.ts'
import type { StateShapeRegistry } from '../../state/state-shapes.ts'
import type { StreamOperator, OperatorContext, OperatorRecovery, RecordTime } from '../../operators/operator.ts'
import type { KeyedStateBackend, StateFor } from '../../state/keyed-state-backend.ts'
import { createKeyedStateBackend, type BackendSettings } from '../../state/backend-factory.ts'
import { migrateRestored } from '../../state/state-migration.ts'
import { OperatorMetricGroup } from '../../metrics/metric-group.ts'
import { UserError, type TaskLocation } from '../../errors.ts'
import { InternalTimerService } from './internal-timer-service.ts'
import type { KeyedOperatorRuntime } from './chain-state.ts'

/** What the contexts of one task's operators share. */
export interface ChainContextDeps {
  readonly vertex: JobVertex
  readonly subtaskIndex: number
  readonly location: TaskLocation
  readonly jobName: string
  readonly attempt: number
  readonly stateBackend: BackendSettings
  readonly autoWatermarkInterval: number
  readonly checkpointing: boolean
  readonly recovery: OperatorRecovery
  readonly time: RecordTime
  readonly stateShapes: StateShapeRegistry
  /** Keyed operators are added here as their contexts are made. */
  readonly keyed: KeyedOperatorRuntime[]
  /** Operators' user metric groups are added here when first asked for. */
  readonly metricGroups: OperatorMetricGroup[]
  post(action: () => void): void
  armTimer(time: number): void
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void
}

/** The context of the chain's operator at `index` (keyed: it reads a keyed stream). */
export function createOperatorContext(deps: ChainContextDeps, index: number, keyed: boolean, operator: StreamOperator<unknown, unknown>): OperatorContext {
  const vertex = deps.vertex
  const t = vertex.operators[index]!
  const uid = vertex.uids[index]!
  const location: TaskLocation = { ...deps.location, operatorName: t.name, uid }
  let backend: KeyedStateBackend | null = null
  let timerService: TimerService | null = null
  let internalTimers: InternalTimerService | null = null
  if (keyed) {
    backend = createKeyedStateBackend(deps.stateBackend, { maxParallelism: vertex.maxParallelism, operatorUid: uid, subtaskIndex: deps.subtaskIndex })
    const timers = new InternalTimerService(backend, deps.time, (time) => deps.armTimer(time))
    internalTimers = timers
    deps.keyed.push({ uid, operator, backend, timers })
    timerService = {
      currentProcessingTime: () => Date.now(),
      registerProcessingTimeTimer: (time: number) => timers.registerProcessingTimeTimer(time),
      deleteProcessingTimeTimer: (time: number) => timers.deleteProcessingTimeTimer(time),
      currentWatermark: () => timers.currentWatermark,
      registerEventTimeTimer: (time: number) => timers.registerEventTimeTimer(time),
      deleteEventTimeTimer: (time: number) => timers.deleteEventTimeTimer(time),
    }
  }
  const keyedState = <D extends StateDescriptor>(descriptor: D): StateFor<D> => {
    if (!backend) throw new UserError('WEIR_INVALID_JOB', `state '${descriptor.name}' in '${t.name}': keyed state is only available on a keyed stream; call keyBy(...) first`)
    // Both backends: a restored state of another shape is refused before it is handed out.
    const migrateFrom = deps.stateShapes.register(uid, t.name, descriptor)
    const state = backend.getState(descriptor)
    if (migrateFrom) migrateRestored(backend, descriptor, state)
    return state
  }
  let metricGroup: OperatorMetricGroup | null = null
  const runtimeContext: RuntimeContext = {
    getMetricGroup: () => {
      if (metricGroup === null) {
        metricGroup = new OperatorMetricGroup(t.name)
        deps.metricGroups.push(metricGroup)
      }
      return metricGroup
    },
    jobName: deps.jobName,
    operatorName: t.name,
    subtaskIndex: deps.subtaskIndex,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    attemptNumber: deps.attempt,
    getState: (d) => keyedState(d),
    getListState: (d) => keyedState(d),
    getMapState: (d) => keyedState(d),
    getReducingState: (d) => keyedState(d),
    getAggregatingState: (d) => keyedState(d),
  }
  return {
    location, runtimeContext, keyedBackend: backend, timerService, internalTimers, time: deps.time,
    autoWatermarkInterval: deps.autoWatermarkInterval, checkpointing: deps.checkpointing,
    post: (action) => deps.post(action), recovery: deps.recovery, log: (level, msg) => deps.log(level, msg),
  }
}

/** The source reader's context: split requests go to the enumerator, availability wakes the task. */
export function createReaderContext(deps: ChainContextDeps, requestSplit: () => void, signalAvailable: () => void): SourceReaderContext {
  return {
    subtaskIndex: deps.subtaskIndex,
    parallelism: deps.vertex.parallelism,
    attemptNumber: deps.attempt,
    sendSplitRequest: requestSplit,
    signalAvailable,
  }
}
