// Checkpoint statistics and configuration, and triggering a checkpoint (Flink's
// /jobs/:jobid/checkpoints routes, with its field names; durations in ms, sizes in bytes).

import { STATE_BACKEND, STATE_BACKEND_INCREMENTAL, SAVEPOINTS_DIR } from '../../config/options.ts'
import type { CheckpointStats } from '../../checkpoint/checkpoint-stats.ts'
import type { ManagedJob } from '../job-registry.ts'
import { accepted, jobEntry, ok, vertexOf, type Handler, type RequestContext } from './context.ts'
import { checkpointJson, refJson, subtasksJson } from '../checkpoint-json.ts'
import { breakdown, type BreakdownContext } from '../checkpoint-breakdown.ts'
import { BodyFields, readJsonBody } from '../http-util.ts'
import { badRequest, conflict, notFound } from '../rest-error.ts'
import { jobState } from './jobs.ts'
import { operationReply, reuseOperation } from './operations.ts'

/** GET /jobs/:jobid/checkpoints: counts and summary over every checkpoint, the latest ones, the bounded history. */
export const checkpointStatistics: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const now = Date.now()
  const { stats, counts } = job.coordinator
  const vertices = job.job.graph.vertices
  const retained = new Set(job.coordinator.completed.map((c) => c.id))
  const view = (s: CheckpointStats) => checkpointJson(s, vertices, now, retained)
  const restored = job.restored
  const sm = stats.summary
  const latestCompleted = stats.latestCompleted
  return ok({
    counts: {
      restored: job.restoreCount,
      total: counts.triggered,
      in_progress: Math.max(0, counts.triggered - counts.completed - counts.failed),
      completed: counts.completed,
      failed: counts.failed,
    },
    summary: {
      checkpointed_size: sm.checkpointedSize.toJson(),
      state_size: sm.stateSize.toJson(),
      end_to_end_duration: sm.endToEndDuration.toJson(),
      alignment_buffered: EMPTY_SUMMARY,
      processed_data: EMPTY_SUMMARY,
      persisted_data: sm.persistedData.toJson(),
    },
    latest: {
      completed: latestCompleted ? view(latestCompleted) : job.coordinator.latest ? refJson(job.coordinator.latest) : null,
      savepoint: stats.latestSavepoint ? view(stats.latestSavepoint) : null,
      failed: stats.latestFailed ? view(stats.latestFailed) : null,
      restored: restored
        ? { id: restored.id, restore_timestamp: restored.restoredAt, is_savepoint: restored.isSavepoint, external_path: restored.path }
        : null,
    },
    history: [...stats.history].reverse().map(view),
  })
}

const EMPTY_SUMMARY = { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 }

function checkpointOf(ctx: RequestContext): { job: ManagedJob; stats: CheckpointStats } {
  const job = jobEntry(ctx).job
  const raw = ctx.params['checkpointid']!
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw badRequest(`'${raw}' is not a checkpoint id (a positive integer)`)
  const stats = job.coordinator.stats.find(id)
  if (!stats) throw notFound(`no statistics for checkpoint ${id} of job ${job.jobId}: the last ${job.coordinator.stats.historySize} checkpoint(s) are kept (web.checkpoints.history)`)
  return { job, stats }
}

/** GET /jobs/:jobid/checkpoints/details/:checkpointid (with Weir's breakdown of where the time went). */
export const checkpointDetails: Handler = (ctx) => {
  const { job, stats } = checkpointOf(ctx)
  const now = Date.now()
  const vertices = job.job.graph.vertices
  const json = checkpointJson(stats, vertices, now, new Set(job.coordinator.completed.map((c) => c.id)))
  json['breakdown'] = breakdown(stats, vertices, breakdownContext(job), now)
  return ok(json)
}

/** GET /jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid */
export const checkpointSubtaskDetails: Handler = (ctx) => {
  const { job, stats } = checkpointOf(ctx)
  const vertex = vertexOf(job, ctx.params['vertexid']!)
  const t = stats.tasks.get(vertex.id)
  if (!t) throw notFound(`checkpoint ${stats.id} has no statistics for vertex ${vertex.id}`)
  return ok(subtasksJson(stats, t, Date.now()))
}

export function breakdownContext(job: ManagedJob): BreakdownContext {
  return {
    unaligned: job.checkpointOptions.unaligned,
    incremental: job.job.config.get(STATE_BACKEND_INCREMENTAL),
    backend: job.job.config.get(STATE_BACKEND) ?? 'hashmap',
  }
}

/** GET /jobs/:jobid/checkpoints/config */
export const checkpointConfig: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const o = job.checkpointOptions
  return ok({
    mode: o.exactlyOnce ? 'exactly_once' : 'at_least_once',
    // null: periodic checkpoints are off (savepoints and triggered checkpoints still work).
    interval: o.intervalMs,
    timeout: o.timeoutMs,
    min_pause: o.minPauseMs,
    max_concurrent: o.maxConcurrent,
    externalization: {
      enabled: o.retention !== 'NO_EXTERNALIZED_CHECKPOINTS',
      delete_on_cancellation: o.retention !== 'RETAIN_ON_CANCELLATION',
    },
    unaligned_checkpoints: o.unaligned,
    aligned_checkpoint_timeout: o.alignedTimeoutMs,
    tolerable_failed_checkpoints: o.tolerableFailures,
    state_backend: job.job.config.get(STATE_BACKEND),
    checkpoint_storage: o.storage,
    checkpoints_dir: o.dir,
    num_retained: o.numRetained,
    savepoints_dir: job.job.config.get(SAVEPOINTS_DIR),
  })
}

/** POST /jobs/:jobid/checkpoints: triggers a checkpoint now. */
export const triggerCheckpoint: Handler = async (ctx) => {
  const entry = jobEntry(ctx)
  const fields = new BodyFields(await readJsonBody(ctx.req), ['checkpointType', 'triggerId'])
  const type = fields.string('checkpointType')
  if (type !== undefined && type.toUpperCase() !== 'CONFIGURED') {
    throw badRequest(`checkpointType '${type}' is not supported: Weir takes checkpoints as configured (execution.checkpointing.incremental); omit the field or pass CONFIGURED`)
  }
  const reused = reuseOperation(entry, fields.string('triggerId'), 'checkpoint')
  if (reused) return accepted({ 'request-id': reused.triggerId, 'checkpoint-id': reused.checkpointId })
  const job = entry.job
  const state = jobState(entry)
  if (state !== 'RUNNING') throw conflict(`job ${job.jobId} is ${state}; a checkpoint needs a running job`)
  const id = job.triggerCheckpoint()
  if (id === null) throw conflict(`job ${job.jobId} is not running (being deployed or restarted); try again in a moment`)
  const op = ctx.registry.startOperation(entry, 'checkpoint', waitForCheckpoint(job, id), fields.string('triggerId'))
  op.checkpointId = id
  return accepted({ 'request-id': op.triggerId, 'checkpoint-id': id })
}

/** GET /jobs/:jobid/checkpoints/:triggerid */
export const checkpointStatus: Handler = (ctx: RequestContext) => {
  const entry = jobEntry(ctx)
  return ok(operationReply(entry, ctx.params['triggerid']!, ['checkpoint']))
}

/** Resolves when the checkpoint completed; rejects with the reason when it failed. */
function waitForCheckpoint(job: ManagedJob, id: number): Promise<{ checkpointId: number }> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const stats = job.coordinator.stats.find(id)
      if (stats?.status === 'COMPLETED') return resolve({ checkpointId: id })
      if (stats?.status === 'FAILED') return reject(new Error(`checkpoint ${id} failed: ${stats.failureReason ?? 'unknown reason'}`))
      if (!stats) {
        if (job.coordinator.completed.some((c) => c.id === id)) return resolve({ checkpointId: id })
        return reject(new Error(`checkpoint ${id}: its statistics are no longer kept`))
      }
      if (job.endTime !== null && Date.now() - job.endTime > 5000) {
        return reject(new Error(`checkpoint ${id} did not complete before the job ended`))
      }
      setTimeout(check, 25).unref()
    }
    check()
  })
}
