// Checkpoint statistics and configuration, and triggering a checkpoint (Flink's
// /jobs/:jobid/checkpoints routes, with its field names; durations in ms, sizes in bytes).

import { STATE_BACKEND, SAVEPOINTS_DIR } from '../../config/options.ts'
import type { CompletedCheckpointRef } from '../../checkpoint/storage/checkpoint-storage.ts'
import type { CheckpointStatsView, ManagedJob, VertexAckStats } from '../job-registry.ts'
import { accepted, jobEntry, ok, type Handler, type RequestContext } from './context.ts'
import { BodyFields, readJsonBody } from '../http-util.ts'
import { badRequest, conflict, notFound } from '../rest-error.ts'
import { jobState } from './jobs.ts'
import { operationReply, reuseOperation } from './operations.ts'

type Json = Record<string, unknown>

/** GET /jobs/:jobid/checkpoints */
export const checkpointStatistics: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const now = Date.now()
  const { history, counts } = job.coordinator
  const retained = new Set(job.coordinator.completed.map((c) => c.id))
  const view = (s: CheckpointStatsView) => checkpointJson(job, s, now, retained)
  const newestFirst = [...history].reverse()
  const completed = newestFirst.filter((s) => s.status === 'COMPLETED')
  const latestCheckpoint = completed.find((s) => !s.isSavepoint)
  const latestSavepoint = completed.find((s) => s.isSavepoint)
  const latestFailed = newestFirst.find((s) => s.status === 'FAILED')
  const restored = job.restored ?? null
  return ok({
    counts: {
      restored: job.restoreCount ?? (restored ? 1 : 0),
      total: counts.triggered,
      in_progress: Math.max(0, counts.triggered - counts.completed - counts.failed),
      completed: counts.completed,
      failed: counts.failed,
    },
    summary: {
      state_size: summarize(completed.map((s) => s.stateSize)),
      end_to_end_duration: summarize(completed.map((s) => Math.round(s.durationMs ?? 0))),
    },
    latest: {
      completed: latestCheckpoint ? view(latestCheckpoint) : job.coordinator.latest ? refJson(job.coordinator.latest) : null,
      savepoint: latestSavepoint ? view(latestSavepoint) : null,
      failed: latestFailed ? view(latestFailed) : null,
      restored: restored
        ? { id: restored.id, restore_timestamp: restored.restoredAt, is_savepoint: restored.isSavepoint, external_path: restored.path }
        : null,
    },
    history: newestFirst.map(view),
  })
}

/** GET /jobs/:jobid/checkpoints/details/:checkpointid */
export const checkpointDetails: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const raw = ctx.params['checkpointid']!
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isSafeInteger(id)) throw badRequest(`'${raw}' is not a checkpoint id (a positive integer)`)
  const stats = job.coordinator.history.find((s) => s.id === id)
  if (!stats) throw notFound(`no statistics for checkpoint ${id} of job ${job.jobId}: the last ${job.coordinator.history.length} checkpoint(s) are kept`)
  return ok(checkpointJson(job, stats, Date.now(), new Set(job.coordinator.completed.map((c) => c.id))))
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
    throw badRequest(`checkpointType '${type}' is not supported: Weir takes checkpoints as configured (state.backend.incremental); omit the field or pass CONFIGURED`)
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
      const stats = job.coordinator.history.find((s) => s.id === id)
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

function checkpointJson(job: ManagedJob, s: CheckpointStatsView, now: number, retained: ReadonlySet<number>): Json {
  const ended = s.status !== 'IN_PROGRESS' && s.durationMs !== null
  const endedAt = ended ? s.triggeredAt + Math.round(s.durationMs!) : null
  const latestAck = s.latestAckAt !== undefined ? (s.latestAckAt ?? -1) : s.status === 'COMPLETED' ? endedAt! : -1
  const json: Json = {
    id: s.id,
    status: s.status,
    is_savepoint: s.isSavepoint,
    checkpoint_type: s.isSavepoint ? 'SAVEPOINT' : 'CHECKPOINT',
    trigger_timestamp: s.triggeredAt,
    latest_ack_timestamp: latestAck,
    state_size: s.stateSize,
    end_to_end_duration: ended ? Math.round(s.durationMs!) : now - s.triggeredAt,
    num_subtasks: s.total,
    num_acknowledged_subtasks: s.acknowledged,
    max_sync_duration: Math.round(s.maxSyncMs),
    max_async_duration: Math.round(s.maxAsyncMs),
    max_alignment_duration: Math.round(s.maxAlignmentMs),
    external_path: s.status === 'COMPLETED' ? s.path : null,
    discarded: s.status === 'COMPLETED' && !s.isSavepoint && !retained.has(s.id),
    failure_timestamp: s.status === 'FAILED' ? endedAt : null,
    failure_message: s.failureReason,
  }
  if (s.tasks !== undefined) json['tasks'] = tasksJson(job, s, now)
  return json
}

function tasksJson(job: ManagedJob, s: CheckpointStatsView, now: number): Json {
  const tasks = s.tasks!
  const get = (id: number): VertexAckStats | undefined => (tasks instanceof Map ? tasks.get(id) : (tasks as Record<number, VertexAckStats>)[id])
  const out: Json = {}
  for (const v of job.job.graph.vertices) {
    const t = get(v.id)
    const acked = t?.acknowledged ?? 0
    const total = t?.total ?? v.parallelism
    out[v.id] = {
      id: s.id,
      name: v.name,
      status: acked === total ? 'COMPLETED' : s.status,
      latest_ack_timestamp: t?.latestAckAt ?? -1,
      state_size: t?.stateSize ?? 0,
      end_to_end_duration: t?.latestAckAt != null ? t.latestAckAt - s.triggeredAt : s.status === 'IN_PROGRESS' ? now - s.triggeredAt : -1,
      num_subtasks: total,
      num_acknowledged_subtasks: acked,
    }
  }
  return out
}

/** The latest retained checkpoint when its statistics dropped out of the history. */
function refJson(ref: CompletedCheckpointRef): Json {
  const m = ref.metadata
  const subtasks = m.vertices.flatMap((v) => v.subtasks)
  return {
    id: ref.id,
    status: 'COMPLETED',
    is_savepoint: false,
    checkpoint_type: 'CHECKPOINT',
    trigger_timestamp: m.triggeredAt,
    latest_ack_timestamp: m.completedAt,
    state_size: subtasks.reduce((n, s) => n + s.stateSize, 0),
    end_to_end_duration: m.completedAt - m.triggeredAt,
    num_subtasks: subtasks.length,
    num_acknowledged_subtasks: subtasks.length,
    external_path: ref.dir,
    discarded: false,
    failure_timestamp: null,
    failure_message: null,
  }
}

function summarize(values: number[]): Json {
  if (values.length === 0) return { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
  return {
    min: sorted[0],
    max: sorted.at(-1),
    avg: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), p999: q(0.999),
  }
}
