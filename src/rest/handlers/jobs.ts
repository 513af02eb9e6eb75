// Jobs: list, overview, details, cancel, exceptions (Flink's /jobs routes and field names).

import type { JobEntry, ManagedJob } from '../job-registry.ts'
import { ioMetricsJson, taskCounts, vertexStatus } from './vertices.ts'
import { accepted, jobEntry, ok, type Handler } from './context.ts'
import { badRequest, conflict } from '../rest-error.ts'

/** Flink's job states that Weir reaches; CANCELLING between a cancel request and CANCELED. */
export type JobState = 'RUNNING' | 'RESTARTING' | 'CANCELLING' | 'FINISHED' | 'FAILED' | 'CANCELED'

const TERMINAL: ReadonlySet<JobState> = new Set(['FINISHED', 'FAILED', 'CANCELED'])

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state)
}

export function jobState(entry: JobEntry): JobState {
  const status = entry.job.status
  if (entry.cancelRequested && (status === 'RUNNING' || status === 'RESTARTING')) return 'CANCELLING'
  return status
}

/** The state reported to a client; a terminal state counts as seen by a client that cancelled. */
function observedState(entry: JobEntry): JobState {
  const state = jobState(entry)
  if (isTerminal(state)) entry.awaitingFinalState = false
  return state
}

function times(entry: JobEntry, now: number): { 'start-time': number; 'end-time': number; duration: number } {
  const { startTime, endTime } = entry.job
  return { 'start-time': startTime, 'end-time': endTime ?? -1, duration: (endTime ?? now) - startTime }
}

/** GET /jobs */
export const listJobs: Handler = (ctx) => ok({ jobs: ctx.registry.list().map((e) => ({ id: e.job.jobId, status: observedState(e) })) })

/** GET /jobs/overview */
export const jobsOverview: Handler = (ctx) => {
  const now = Date.now()
  return ok({
    jobs: ctx.registry.list().map((e) => ({ jid: e.job.jobId, name: e.job.job.name, state: observedState(e), ...times(e, now) })),
  })
}

/** GET /jobs/:jobid: Flink's JobDetailsInfo (vertices with status, times, task counts and I/O metrics). */
export const jobDetails: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const job = entry.job
  const now = Date.now()
  const vertices = job.job.graph.vertices
  const state = observedState(entry)
  const statusCounts: Record<string, number> = {}
  const attemptStart = job.taskMetrics.attemptStartedAt
  const end = job.endTime ?? -1
  const vertexJson = vertices.map((v) => {
    const list = job.taskMetrics.vertex(v.id, v.parallelism)
    const status = vertexStatus(job, list)
    statusCounts[status] = (statusCounts[status] ?? 0) + 1
    return {
      id: v.id, name: v.name, maxParallelism: v.maxParallelism, parallelism: v.parallelism, status,
      'start-time': attemptStart, 'end-time': end, duration: (end === -1 ? now : end) - attemptStart,
      tasks: taskCounts(status, list),
      metrics: ioMetricsJson(list, list.every((m) => m !== null)),
    }
  })
  const timestamps: Record<string, number> = {}
  for (const s of ['INITIALIZING', 'CREATED', 'RUNNING', 'FAILING', 'FAILED', 'CANCELLING', 'CANCELED', 'FINISHED', 'RESTARTING', 'SUSPENDED', 'RECONCILING']) {
    timestamps[s] = s === 'INITIALIZING' || s === 'CREATED' ? job.startTime : (job.statusTimestamps[s] ?? 0)
  }
  return ok({
    jid: job.jobId,
    name: job.job.name,
    isStoppable: false,
    state,
    'job-type': 'STREAMING',
    ...times(entry, now),
    now,
    maxParallelism: Math.max(...vertices.map((v) => v.maxParallelism)),
    timestamps,
    vertices: vertexJson,
    'status-counts': statusCounts,
    plan: planJson(job),
    // Weir's additions: records emitted by the sources and received by the sinks in the current attempt, and restarts.
    metrics: { 'records-in': job.metrics.recordsIn, 'records-out': job.metrics.recordsOut },
    restarts: job.attemptCount,
  })
}

const SHIP_STRATEGY: Record<string, string> = { forward: 'FORWARD', rebalance: 'REBALANCE', rescale: 'RESCALE', broadcast: 'BROADCAST', global: 'GLOBAL', hash: 'HASH' }

function planJson(job: ManagedJob): Record<string, unknown> {
  return {
    jid: job.jobId,
    name: job.job.name,
    type: 'STREAMING',
    nodes: job.job.graph.vertices.map((v) => ({
      id: v.id,
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: v.operators.map((o) => o.name).join(' -> '),
      ...(v.inputs.length > 0
        ? { inputs: v.inputs.map((e, num) => ({ num, id: e.source, ship_strategy: SHIP_STRATEGY[e.partitioner.type] ?? e.partitioner.type.toUpperCase(), exchange: 'pipelined_bounded' })) }
        : {}),
      optimizer_properties: {},
    })),
  }
}

/** GET /jobs/:jobid/plan */
export const jobPlan: Handler = (ctx) => ok({ plan: planJson(jobEntry(ctx).job) })

/** GET /jobs/:jobid/config: the job's execution configuration; user-config holds every key the job set. */
export const jobConfig: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const raw = job.job.config.toRaw()
  const userConfig: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) userConfig[k] = String(v)
  return ok({
    jid: job.jobId,
    name: job.job.name,
    'execution-config': {
      'execution-mode': 'PIPELINED',
      'restart-strategy': String(raw['restart-strategy.type'] ?? (job.checkpointOptions.intervalMs !== null ? 'exponential-delay' : 'none')),
      'job-parallelism': Math.max(...job.job.graph.vertices.map((v) => v.parallelism)),
      'object-reuse-mode': false,
      'user-config': userConfig,
    },
  })
}

/** PATCH /jobs/:jobid[?mode=cancel] */
export const cancelJob: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const mode = ctx.query.get('mode') ?? 'cancel'
  if (mode !== 'cancel') {
    throw badRequest(`unsupported mode '${mode}': PATCH /jobs/:jobid takes mode=cancel; to stop a job with a savepoint use POST /jobs/:jobid/stop`)
  }
  const state = jobState(entry)
  if (state === 'FINISHED' || state === 'FAILED') throw conflict(`job ${entry.job.jobId} already ${state.toLowerCase()}; there is nothing to cancel`)
  if (state !== 'CANCELED') {
    entry.cancelRequested = true
    entry.awaitingFinalState = true
    entry.job.cancel().catch(() => {})
  }
  return accepted({})
}

/** GET /jobs/:jobid/exceptions: the latest root cause and the exception history (newest first), as Flink 1.13+. */
export const jobExceptions: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const job = entry.job
  const failures = [...job.failures]
  const final = entry.result?.error
  // The final error of a failed job is the last failure; it may not be in the list when the job failed without restarting.
  if (final && !failures.some((f) => f.error === final)) failures.push({ error: final, timestamp: job.endTime ?? Date.now(), attempt: job.attemptCount })
  const newestFirst = failures.reverse()
  const maxRaw = ctx.query.get('maxExceptions')
  let max = 20
  if (maxRaw !== null) {
    if (!/^\d+$/.test(maxRaw) || Number(maxRaw) < 1) throw badRequest(`parameter 'maxExceptions' must be a positive integer, got '${maxRaw}'`)
    max = Number(maxRaw)
  }
  const shown = newestFirst.slice(0, max)
  const tm = ctx.cluster.taskManagers()[0]
  const entries = shown.map((f) => {
    const loc = f.error.location
    return {
      exceptionName: f.error.name,
      stacktrace: (f.error as { userStack?: string }).userStack ?? f.error.stack ?? `${f.error.name}: ${f.error.message}`,
      message: f.error.message,
      timestamp: f.timestamp,
      taskName: loc ? `${loc.operatorName} (${loc.subtaskIndex + 1}/${loc.parallelism})#${loc.attempt}` : null,
      location: loc ? (tm?.path ?? 'embedded') : null,
      taskManagerId: loc ? (tm?.id ?? null) : null,
      attempt: f.attempt,
      failureLabels: {},
      concurrentExceptions: [],
    }
  })
  const root = newestFirst[0]
  return ok({
    'root-exception': root ? `${root.error.name}: ${root.error.message}` : null,
    timestamp: root ? root.timestamp : null,
    'all-exceptions': [],
    truncated: newestFirst.length > shown.length,
    exceptionHistory: { entries, truncated: newestFirst.length > shown.length },
  })
}
