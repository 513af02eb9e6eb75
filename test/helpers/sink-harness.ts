// Drives a sink through the real sink operators (SinkOperator / CommittingSinkOperator) without
// a job: one subtask, records written directly, checkpoints taken, completed, aborted and
// restored by hand, so that tests can stop a subtask between any two phases. What a
// checkpoint stores goes through the checkpoint codec, as it would in a job.

import { OperatorMetricGroup } from '../../src/metrics/metric-group.ts'
import type { Sink, TwoPhaseCommittingSink } from '../../src/api/sink.ts'
import { isTwoPhaseCommittingSink } from '../../src/api/sink.ts'
import { SinkOperator } from '../../src/operators/sink.ts'
import { CommittingSinkOperator } from '../../src/operators/committing-sink.ts'
import type { OperatorContext } from '../../src/operators/operator.ts'
import { decodeValue, encodeValue } from '../../src/runtime/network/batch-codec.ts'
import { NO_TIMESTAMP } from '../../src/runtime/network/events.ts'
import type { OperatorStateSnapshot } from '../../src/state/operator-state-store.ts'
import { randomBytes } from 'node:crypto'

export interface SubtaskOptions {
  readonly subtaskIndex?: number
  readonly parallelism?: number
  readonly attemptNumber?: number
  readonly checkpointing?: boolean
  readonly jobName?: string
  readonly uid?: string
  /** Stored states this subtask restores (from `checkpoint()` of earlier subtasks). */
  readonly restored?: Uint8Array[]
  /**
   * The checkpoint `restored` comes from: the sink's committed output is checked against it (as
   * in a job). Without it the restore is not checked and starts a new run.
   */
  readonly restoredFrom?: number
  /**
   * Stored subtasks whose union operator state (the sink's run) this subtask gets without their
   * own state: scaling up, planRestore gives union state to every new subtask.
   */
  readonly unionStateOf?: Uint8Array[]
  /** The job's id: a fresh start's run (default: a new one per subtask, as every fresh job has). */
  readonly jobId?: string
  /** execution.state-recovery.allow-duplicate-output */
  readonly allowDuplicateOutput?: boolean
}

/** What `checkpoint()` returns, encoded: the operator's state and its operator (union) state. */
interface StoredSubtask {
  readonly state: unknown
  readonly operatorState: OperatorStateSnapshot | null
}

export class SinkSubtask<T> {
  readonly operator: SinkOperator<T>
  /** What the operator posted to its task (failures surface here when run). */
  private readonly mail: Array<() => void> = []
  /** Failures posted by the operator (asynchronous commit or write errors). */
  readonly failures: unknown[] = []
  /** The user metrics the sink registered. */
  readonly metricGroup = new OperatorMetricGroup('Sink')
  /** Lines the operator logged (warnings). */
  readonly logs: string[] = []

  constructor(sink: Sink<T> | TwoPhaseCommittingSink<T, unknown>, options: SubtaskOptions = {}) {
    this.operator = isTwoPhaseCommittingSink(sink) ? new CommittingSinkOperator(sink) : new SinkOperator(sink)
    const subtaskIndex = options.subtaskIndex ?? 0
    const parallelism = options.parallelism ?? 1
    const jobName = options.jobName ?? 'SinkTest'
    const uid = options.uid ?? 'sink'
    const ctx: OperatorContext = {
      location: { jobName, operatorName: 'Sink', uid, subtaskIndex, parallelism, attempt: options.attemptNumber ?? 0 },
      checkpointing: options.checkpointing ?? true,
      runtimeContext: {
        getMetricGroup: () => this.metricGroup,
        jobName, operatorName: 'Sink', subtaskIndex, parallelism, maxParallelism: 128, attemptNumber: options.attemptNumber ?? 0,
        getState: unsupported, getListState: unsupported, getMapState: unsupported, getReducingState: unsupported, getAggregatingState: unsupported,
      },
      keyedBackend: null,
      timerService: null,
      internalTimers: null,
      time: { value: NO_TIMESTAMP },
      autoWatermarkInterval: 0,
      post: (action) => {
        this.mail.push(action)
        this.runMail()
      },
      recovery: {
        jobId: options.jobId ?? `job-${randomBytes(6).toString('hex')}`,
        checkpointId: options.restoredFrom ?? null,
        allowDuplicateOutput: options.allowDuplicateOutput ?? false,
      },
      log: (_level, msg) => void this.logs.push(msg),
    }
    this.operator.setup(ctx, { collect() {}, emitWatermark() {}, emitWatermarkStatus() {}, collectSide() {} })
    const stored = (options.restored ?? []).map((b) => decodeValue<StoredSubtask>(b))
    const restored = stored.map((s) => s.state).filter((s) => s !== undefined && s !== null)
    // Union operator state: every subtask gets every old subtask's elements (as planRestore does).
    const operatorState: OperatorStateSnapshot = {}
    for (const s of [...stored, ...(options.unionStateOf ?? []).map((b) => decodeValue<StoredSubtask>(b))]) {
      for (const [name, entry] of Object.entries(s.operatorState ?? {})) {
        operatorState[name] = { mode: entry.mode, values: [...(operatorState[name]?.values ?? []), ...entry.values] }
      }
    }
    if (this.operator instanceof CommittingSinkOperator) this.operator.initializeState(restored, options.restoredFrom !== undefined || stored.length > 0, operatorState)
    else this.operator.initializeState(restored)
    this.operator.open()
  }

  /** Resolves when the operator finished opening (a sink that answers committedCheckpoints asynchronously). */
  async opened(): Promise<void> {
    if (this.operator instanceof CommittingSinkOperator) await this.operator.opening
  }

  write(...records: T[]): void {
    for (const r of records) this.operator.processElement(r)
    this.operator.onIdle()
  }

  /** Synchronous phase, then the asynchronous one: resolves with what the checkpoint stores. */
  async checkpoint(checkpointId: number): Promise<Uint8Array> {
    const operatorState = this.operator.snapshotOperatorState?.() ?? null
    const state = await this.operator.snapshotState(checkpointId)
    return encodeValue({ state: state ?? null, operatorState } satisfies StoredSubtask)
  }

  /** Checkpoint `id` completed: resolves when the commits it started are done. */
  async complete(checkpointId: number): Promise<void> {
    this.operator.notifyCheckpointComplete(checkpointId)
    await this.whenCommitted()
  }

  abort(checkpointId: number): void {
    this.operator.notifyCheckpointAborted(checkpointId)
  }

  async whenCommitted(): Promise<void> {
    await this.opened()
    if (this.operator instanceof CommittingSinkOperator) await this.operator.whenCommitted()
  }

  /** End of input, then close (the way a bounded job finishes). */
  async finish(): Promise<void> {
    this.operator.endInput()
    this.operator.onIdle()
    await this.operator.close()
  }

  /** The subtask dies here: nothing is closed or committed (as after kill -9 or a task failure). */
  crash(): void {
    this.operator.dispose()
  }

  private runMail(): void {
    while (this.mail.length > 0) {
      try {
        this.mail.shift()!()
      } catch (e) {
        this.failures.push(e)
      }
    }
  }
}

function unsupported(): never {
  throw new Error('no keyed state in a sink test')
}
