// The runtime of one slot (a worker thread): builds its share of the job's tasks and their
// channels, runs them with a cooperative scheduler, and routes messages between its tasks,
// its peer slots and the JobManager. Peers are reached through one PeerLink each
// (network/transport.ts), whatever carries the bytes; nothing in the tasks depends on that.

import type { CompiledJob } from '../compile.ts'
import type { JobEdge, JobVertex } from '../../graph/job-graph.ts'
import { channelId, isPointwise } from '../../graph/job-graph.ts'
import { ALLOW_DUPLICATE_OUTPUT, AUTO_WATERMARK_INTERVAL, BUFFER_TIMEOUT, LMDB_CACHE_SIZE, LMDB_LOCAL_DIR, NETWORK_BATCH_RECORDS, NETWORK_CREDITS, STATE_BACKEND, STATE_BACKEND_INCREMENTAL } from '../../config/options.ts'
import type { BackendSettings } from '../../state/backend-factory.ts'
import { LocalChannel, RemoteInputChannel, RemoteOutputChannel, type InputChannel, type OutputChannel } from '../network/channels.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from '../network/transport.ts'
import { decodeBatch } from '../network/batch-codec.ts'
import { isWeirError, WeirError } from '../../errors.ts'
import { createRecordWriter } from '../network/record-writer.ts'
import type { ChannelEvent } from '../network/events.ts'
import { Task } from './task.ts'
import type { SnapshotTiming, TaskHost } from './task-host.ts'
import type { OperatorRecovery } from '../../operators/operator.ts'
import type { CheckpointingSetup, FromWorker, ToWorker } from '../messages.ts'
import { serializeError } from '../../errors.ts'
import type { CheckpointBarrier } from '../network/events.ts'
import type { TaskSnapshot } from './task-snapshot.ts'
import type { RestoreSource } from '../../checkpoint/restore-plan.ts'
import { readTaskRestore } from '../../checkpoint/read-task-state.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import type { CheckpointLocation } from '../../checkpoint/storage/checkpoint-storage.ts'
import { checkpointDir, sharedDir } from '../../checkpoint/protocol/paths.ts'
import { writeSnapshot } from './snapshot-writer.ts'
import { slotMetrics } from './slot-metrics.ts'

/** Which slot runs subtask i of a vertex: slot sharing puts subtask i of every vertex in slot i mod slots. */
export function slotOf(subtaskIndex: number, numSlots: number): number {
  return subtaskIndex % numSlots
}

/** The longest one turn of the run loop keeps the thread before letting messages in. */
const TURN_MS = 5
const METRICS_INTERVAL_MS = 200

/** The longest a cancel waits for snapshot phases still writing before it answers. */
const SNAPSHOT_SETTLE_BOUND_MS = 5_000

export class TaskExecutor implements TaskHost, PeerLinkHandler {
  readonly tasks: Task[] = []
  readonly jobName: string
  readonly checkpointing: boolean
  readonly exactlyOnce: boolean
  readonly alignedTimeoutMs: number
  readonly stateBackend: BackendSettings
  readonly autoWatermarkInterval: number
  readonly recovery: OperatorRecovery
  private readonly inputChannels = new Map<number, InputChannel>()
  private readonly outputChannels = new Map<number, RemoteOutputChannel>()
  private readonly localChannels = new Map<number, LocalChannel>()
  private readonly taskByKey = new Map<string, Task>()
  private scheduled = false
  private stopped = false
  /** Asynchronous snapshot phases (serialize and write) that have not settled yet. */
  private readonly inFlight = new Set<Promise<void>>()
  private lastFlush = 0
  private readonly bufferTimeout: number
  private readonly metricsTimer: NodeJS.Timeout
  private readonly links: ReadonlyMap<number, PeerLink>

  constructor(
    private readonly job: CompiledJob,
    private readonly slot: number,
    private readonly numSlots: number,
    transport: SlotTransport,
    private readonly toJobManager: (message: FromWorker) => void,
    readonly attempt: number,
    private readonly jobId: string,
    private readonly checkpointSetup: CheckpointingSetup,
    restore: Record<string, RestoreSource[]> | null,
    restoreOperatorState: Record<string, Record<string, OperatorStateSnapshot>> | null = null,
    restoredCheckpointId: number | null = null,
  ) {
    this.jobName = job.name
    this.recovery = { jobId, checkpointId: restore ? restoredCheckpointId : null, allowDuplicateOutput: job.config.get(ALLOW_DUPLICATE_OUTPUT) }
    this.checkpointing = checkpointSetup.periodic
    this.exactlyOnce = checkpointSetup.exactlyOnce
    this.stateBackend = {
      type: job.config.get(STATE_BACKEND) ?? 'hashmap',
      incremental: job.config.get(STATE_BACKEND_INCREMENTAL),
      localDir: job.config.get(LMDB_LOCAL_DIR),
      lmdbCacheSize: job.config.get(LMDB_CACHE_SIZE),
      // Incremental checkpoints (both backends) put their segments in <dir>/<job-id>/shared/.
      sharedDir: checkpointSetup.storage.type === 'filesystem' && checkpointSetup.periodic ? sharedDir(checkpointSetup.storage.baseDir, jobId) : null,
      jobId, attempt,
    }
    this.alignedTimeoutMs = checkpointSetup.unaligned && checkpointSetup.exactlyOnce ? checkpointSetup.alignedTimeoutMs : 0
    this.bufferTimeout = job.config.get(BUFFER_TIMEOUT) ?? 100
    this.autoWatermarkInterval = job.config.get(AUTO_WATERMARK_INTERVAL) ?? 200
    const batchSize = job.config.get(NETWORK_BATCH_RECORDS)
    const credits = job.config.get(NETWORK_CREDITS)
    this.links = transport.open(this)
    try {
      for (const vertex of job.graph.vertices) {
        for (let i = 0; i < vertex.parallelism; i++) {
          if (slotOf(i, numSlots) !== slot) continue
          const inputs = vertex.inputs.flatMap((edge) => this.inputChannelsFor(edge, i, batchSize, credits))
          const writers = vertex.outputs.map((edge) => {
            const target = job.graph.vertices[edge.target]!
            const channels = this.outputChannelsFor(edge, i, target, batchSize, credits)
            return createRecordWriter(edge.partitioner, channels, i, target.maxParallelism)
          })
          const key = `${vertex.id}/${i}`
          const sources = restore?.[key]
          const task = new Task(vertex, i, inputs, writers, this, restore ? readTaskRestore(sources ?? [], restoreOperatorState?.[key] ?? {}) : null)
          this.tasks.push(task)
          this.taskByKey.set(`${vertex.id}/${i}`, task)
        }
      }
    } catch (e) {
      // A restore refused (a damaged state file, say): the links opened above must not go on
      // delivering peers' batches to channels that were never made.
      this.stop()
      throw e
    }
    this.metricsTimer = setInterval(() => this.reportMetrics(), METRICS_INTERVAL_MS)
    this.metricsTimer.unref()
  }

  /** Whether to report task lifecycle lines (the JobManager logs at debug level). */
  logTaskLifecycle = false

  logTask(task: Task, level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.toJobManager({ type: 'log', level, msg: `${task.vertex.name} (${task.subtaskIndex + 1}/${task.vertex.parallelism})#${this.attempt} ${msg}`, vertex: task.vertex.id, subtask: task.subtaskIndex })
  }

  start(): void {
    // Only sources count records in (reportMetrics): a slot without one has nothing to report early.
    this.reportedRecords = !this.tasks.some((t) => t.vertex.inputs.length === 0)
    try {
      for (const t of this.tasks) {
        t.open()
        if (this.logTaskLifecycle) this.logTask(t, 'debug', 'switched from INITIALIZING to RUNNING')
      }
    } catch (e) {
      this.failed(e)
      return
    }
    const opening = this.tasks.flatMap((t) => t.pendingOpens())
    if (opening.length > 0) {
      // No checkpoint may reach an operator that is still opening: report running when all opened.
      void Promise.all(opening).then(() => {
        if (!this.stopped) this.toJobManager({ type: 'slot-running' })
      })
    } else {
      this.toJobManager({ type: 'slot-running' })
    }
    this.wake()
  }

  onControl(message: ToWorker): void {
    switch (message.type) {
      case 'assign-splits':
        this.taskByKey.get(`${message.vertex}/${message.subtask}`)?.addSplits(message.splits)
        return
      case 'no-more-splits':
        this.taskByKey.get(`${message.vertex}/${message.subtask}`)?.noMoreSplits()
        return
      case 'trigger-checkpoint':
        for (const t of this.tasks) {
          if (message.final) t.triggerFinalCheckpoint(message.barrier)
          else if (t.vertex.inputs.length === 0) t.triggerCheckpoint(message.barrier)
        }
        return
      case 'checkpoint-complete':
        for (const t of this.tasks) t.notifyCheckpointComplete(message.checkpointId)
        return
      case 'checkpoint-aborted':
        for (const t of this.tasks) t.notifyCheckpointAborted(message.checkpointId)
        return
      case 'finish':
        for (const t of this.tasks) t.finishNow()
        return
      case 'stop-tasks':
        for (const t of this.tasks) t.stopNow()
        return
      case 'drain-sources':
        for (const t of this.tasks) if (t.vertex.inputs.length === 0) t.drain()
        return
      case 'cancel':
        this.stop()
        for (const t of this.tasks) t.cancel()
        // Answered once the asynchronous snapshot phases still writing have settled: the
        // TaskManager terminates the thread on this answer, and Node 20 aborts the whole process
        // when a thread is terminated while it starts a file-system promise (an assertion in
        // node_file.cc; seen once in the suite as a SIGABRT of the JobManager's process).
        // A phase that waits on something the cancel stopped is not waited for past a bound.
        void Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, SNAPSHOT_SETTLE_BOUND_MS).unref())])
          .then(() => this.toJobManager({ type: 'canceled' }))
        return
    }
  }

  wake(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(this.runLoop)
  }

  requestSplit(vertex: number, subtask: number): void {
    this.toJobManager({ type: 'split-request', vertex, subtask })
  }

  taskEnded(task: Task): void {
    // The JobManager decides when ended tasks finish: after a final checkpoint or savepoint, if any.
    this.toJobManager({ type: 'task-ended', vertex: task.vertex.id, subtask: task.subtaskIndex })
  }

  snapshotTaken(task: Task, barrier: CheckpointBarrier, snapshot: () => Promise<TaskSnapshot>, timing: SnapshotTiming, channelStateReady: Promise<void> | null): void {
    const location = this.locationFor(barrier.id, barrier.savepointDir)
    const { id: vertex } = task.vertex
    const subtask = task.subtaskIndex
    // The asynchronous phase: serialize and write after this turn, while the task goes on.
    setImmediate(() => {
      if (this.stopped) return
      const phase = asyncPhase()
      this.inFlight.add(phase)
      void phase.finally(() => this.inFlight.delete(phase))
    })
    const asyncPhase = async (): Promise<void> => {
      try {
        const ack = await writeSnapshot({ location, vertex, subtask, attempt: this.attempt }, barrier, snapshot, timing, channelStateReady)
        if (!this.stopped) this.toJobManager({ type: 'ack', checkpointId: barrier.id, ack })
      } catch (e) {
        if (!this.stopped) this.toJobManager({ type: 'decline', checkpointId: barrier.id, vertex, subtask, reason: (e as Error).message, ...(isWeirError(e) ? { code: e.code } : {}) })
      }
    }
  }

  declineCheckpoint(task: Task, checkpointId: number, reason: string): void {
    this.toJobManager({ type: 'decline', checkpointId, vertex: task.vertex.id, subtask: task.subtaskIndex, reason })
  }

  private locationFor(checkpointId: number, savepointDir: string | undefined): CheckpointLocation {
    if (savepointDir) return { type: 'filesystem', dir: savepointDir }
    const storage = this.checkpointSetup.storage
    return storage.type === 'jobmanager' ? storage : { type: 'filesystem', dir: checkpointDir(storage.baseDir, this.jobId, checkpointId) }
  }

  taskFinished(task: Task): void {
    if (this.logTaskLifecycle) this.logTask(task, 'debug', 'switched from RUNNING to FINISHED')
    // Metrics first: the JobManager may stop this slot as soon as the last task reports.
    this.reportMetrics()
    this.toJobManager({ type: 'task-finished', vertex: task.vertex.id, subtask: task.subtaskIndex })
  }

  // PeerLinkHandler: what the links to peer slots deliver.
  onData(channel: number, bytes: Uint8Array): void {
    // The bytes are only valid during this call (the link may reuse its buffer): decode now.
    const input = this.peerChannel(this.inputChannels, channel, 'a batch')
    if (input === null) return
    input.bytesReceived += bytes.length
    let records: unknown[]
    try {
      records = decodeBatch(bytes)
    } catch (e) {
      // A batch that cannot be read is refused: its records are lost, so the attempt fails (and restarts from a checkpoint) rather than going on without them.
      const why = e instanceof Error ? e.message : String(e)
      this.failed(new WeirError('WEIR_NETWORK_FRAME_INVALID', `input channel ${channel} received ${bytes.length} bytes that are not a batch of records: ${why}`, { cause: e, retriable: true, domain: 'internal' }))
      return
    }
    input.enqueue(records)
  }
  onEvent(channel: number, event: ChannelEvent): void {
    this.peerChannel(this.inputChannels, channel, 'an event')?.enqueue(event)
  }
  onCredit(channel: number, credits: number): void {
    this.peerChannel(this.outputChannels, channel, 'a credit')?.receiveCredit(credits)
  }

  /**
   * The channel a peer's message is for. A channel this slot does not have is refused: after a
   * stop (teardown) quietly, else by failing the attempt with a typed error, never by crashing
   * the slot, and never by dropping what it carried without a word.
   */
  private peerChannel<C>(channels: ReadonlyMap<number, C>, channel: number, what: string): C | null {
    const c = channels.get(channel)
    if (c !== undefined) return c
    if (!this.stopped) this.failed(new WeirError('WEIR_NETWORK_FRAME_INVALID', `received ${what} for channel ${channel}, which no task of this slot has: refused`, { retriable: true, domain: 'internal' }))
    return null
  }
  onLinkFailed(peer: number, error: WeirError): void {
    this.failed(new WeirError(error.code, `the connection to slot ${peer} failed: ${error.message}`, { cause: error, retriable: true, domain: 'external' }))
  }

  private readonly runLoop = (): void => {
    this.scheduled = false
    if (this.stopped) return
    // One clock read per pass over the tasks, shared by the time accounting and the deadline.
    let now = performance.now()
    const deadline = now + TURN_MS
    let worked = false
    try {
      for (;;) {
        let any = false
        for (const t of this.tasks) {
          const did = t.step()
          if (did) any = true
          t.activity.observe(did, !did && t.isBackPressured(), now)
        }
        if (!any) break
        worked = true
        now = performance.now()
        if (now - this.lastFlush >= this.bufferTimeout) {
          this.lastFlush = now
          for (const t of this.tasks) t.flush()
        }
        if (now >= deadline) break
      }
      if (worked) {
        if (!this.reportedRecords) this.reportFirstRecords()
        this.wake()
      } else {
        // Idle: nothing can run until a message, a credit, a timer or a source wakes us.
        this.lastFlush = performance.now()
        for (const t of this.tasks) t.flush()
      }
    } catch (e) {
      this.failed(e)
    }
  }

  /** Whether the first records of this attempt were reported (they are at once, not at the next metrics tick). */
  private reportedRecords = false

  /**
   * The first records of the attempt are reported as soon as a task emitted any, not up to
   * METRICS_INTERVAL_MS later: the job's metrics (REST, the CLI's status line) show it processing
   * again the moment it does after a restart. Checked once per busy turn until then.
   */
  private reportFirstRecords(): void {
    for (const t of this.tasks) {
      if (t.recordsOut === 0) continue
      this.reportedRecords = true
      this.reportMetrics()
      return
    }
  }

  private failed(error: unknown): void {
    this.stop()
    for (const t of this.tasks) t.fail()
    this.reportMetrics()
    this.toJobManager({ type: 'failed', error: serializeError(error) })
  }

  private stop(): void {
    this.stopped = true
    clearInterval(this.metricsTimer)
    for (const link of this.links.values()) link.close()
  }

  private reportMetrics(): void {
    this.toJobManager(slotMetrics(this.tasks))
  }

  private inputChannelsFor(edge: JobEdge, subtask: number, batchSize: number, credits: number): InputChannel[] {
    const source = this.job.graph.vertices[edge.source]!
    const target = this.job.graph.vertices[edge.target]!
    const upstream = isPointwise(edge) ? [subtask] : range(source.parallelism)
    return upstream.map((from) => {
      const id = channelId(edge, target.parallelism, from, subtask)
      const peer = slotOf(from, this.numSlots)
      const channel = peer === this.slot ? this.local(id, edge.targetInput, batchSize, credits).input : new RemoteInputChannel(id, edge.targetInput, this.links.get(peer)!)
      this.inputChannels.set(id, channel)
      return channel
    })
  }

  private outputChannelsFor(edge: JobEdge, subtask: number, target: JobVertex, batchSize: number, credits: number): OutputChannel[] {
    const downstream = isPointwise(edge) ? [subtask] : range(target.parallelism)
    return downstream.map((to) => {
      const id = channelId(edge, target.parallelism, subtask, to)
      const peer = slotOf(to, this.numSlots)
      if (peer === this.slot) return this.local(id, edge.targetInput, batchSize, credits).output
      const channel = new RemoteOutputChannel(id, batchSize, credits, this.links.get(peer)!)
      this.outputChannels.set(id, channel)
      return channel
    })
  }

  private local(id: number, inputIndex: 1 | 2, batchSize: number, credits: number): LocalChannel {
    let c = this.localChannels.get(id)
    if (!c) {
      c = new LocalChannel(id, inputIndex, batchSize, credits)
      this.localChannels.set(id, c)
    }
    return c
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}
