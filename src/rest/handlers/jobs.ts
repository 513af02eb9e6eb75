// Jobs: list, overview, details, cancel, exceptions (Flink's /jobs routes and field names).

import type { JobEntry } from '../job-registry.ts'
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

/** GET /jobs/:jobid */
export const jobDetails: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const job = entry.job
  const now = Date.now()
  const vertices = job.job.graph.vertices
  return ok({
    jid: job.jobId,
    name: job.job.name,
    state: observedState(entry),
    ...times(entry, now),
    now,
    maxParallelism: Math.max(...vertices.map((v) => v.maxParallelism)),
    vertices: vertices.map((v) => ({ id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism })),
    // Records emitted by the sources and received by the sinks, in the current attempt.
    metrics: { 'records-in': job.metrics.recordsIn, 'records-out': job.metrics.recordsOut },
    restarts: job.attemptCount,
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

/** GET /jobs/:jobid/exceptions: the root cause of a failed job. */
export const jobExceptions: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const error = entry.result?.error
  return ok({
    'root-exception': error ? `${error.name}: ${error.message}` : null,
    timestamp: error ? entry.job.endTime : null,
    'all-exceptions': [],
    truncated: false,
  })
}
