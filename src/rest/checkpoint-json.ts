// Checkpoint statistics in the JSON shapes of Flink's REST API (CheckpointStatistics,
// TaskCheckpointStatistics, TaskCheckpointStatisticsWithSubtaskDetails), from the coordinator's
// statistics. Durations in ms, sizes in bytes, timestamps in ms since the epoch.

import type { CheckpointStats, SubtaskCheckpointStats, VertexCheckpointStats } from '../checkpoint/checkpoint-stats.ts'
import type { CompletedCheckpointRef } from '../checkpoint/storage/checkpoint-storage.ts'
import type { ManagedVertex } from './job-registry.ts'

export type Json = Record<string, unknown>

function className(s: CheckpointStats): string {
  return s.status === 'COMPLETED' ? 'completed' : s.status === 'FAILED' ? 'failed' : 'in_progress'
}

function checkpointType(s: CheckpointStats): string {
  if (s.isSavepoint) return 'SAVEPOINT'
  for (const v of s.tasks.values()) for (const st of v.subtasks) if (st?.unaligned) return 'UNALIGNED_CHECKPOINT'
  return 'CHECKPOINT'
}

function endToEnd(s: CheckpointStats, now: number): number {
  return s.durationMs !== null && s.status !== 'IN_PROGRESS' ? Math.round(s.durationMs) : now - s.triggeredAt
}

/** One checkpoint (history entry, latest, or details). `tasks`: add the per-vertex map. */
export function checkpointJson(s: CheckpointStats, vertices: readonly ManagedVertex[], now: number, retained: ReadonlySet<number>, tasks = true): Json {
  const ended = s.status !== 'IN_PROGRESS' && s.durationMs !== null
  const endedAt = ended ? s.triggeredAt + Math.round(s.durationMs!) : null
  const json: Json = {
    className: className(s),
    id: s.id,
    status: s.status,
    is_savepoint: s.isSavepoint,
    savepointFormat: s.isSavepoint ? 'CANONICAL' : null,
    checkpoint_type: checkpointType(s),
    trigger_timestamp: s.triggeredAt,
    latest_ack_timestamp: s.latestAckAt ?? -1,
    checkpointed_size: s.checkpointedSize,
    state_size: s.stateSize,
    end_to_end_duration: endToEnd(s, now),
    alignment_buffered: 0,
    processed_data: 0,
    persisted_data: s.persistedBytes,
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
  if (tasks) {
    const out: Json = {}
    for (const v of vertices) {
      const t = s.tasks.get(v.id)
      if (t) out[v.id] = taskJson(s, t, now)
    }
    json['tasks'] = out
  }
  return json
}

function taskJson(s: CheckpointStats, t: VertexCheckpointStats, now: number): Json {
  let persisted = 0
  for (const st of t.subtasks) persisted += st?.persistedBytes ?? 0
  return {
    id: s.id,
    status: t.acknowledged === t.total ? 'COMPLETED' : s.status,
    latest_ack_timestamp: t.latestAckAt ?? -1,
    checkpointed_size: t.checkpointedSize,
    state_size: t.stateSize,
    end_to_end_duration: t.latestAckAt !== null ? t.latestAckAt - s.triggeredAt : s.status === 'IN_PROGRESS' ? now - s.triggeredAt : -1,
    alignment_buffered: 0,
    processed_data: 0,
    persisted_data: persisted,
    num_subtasks: t.total,
    num_acknowledged_subtasks: t.acknowledged,
  }
}

function minMaxAvg(values: number[]): Json {
  if (values.length === 0) return { min: 0, max: 0, avg: 0 }
  let min = Infinity
  let max = -Infinity
  let sum = 0
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
    sum += v
  }
  return { min: Math.round(min), max: Math.round(max), avg: Math.round(sum / values.length) }
}

/** GET .../checkpoints/details/:cid/subtasks/:vid: one vertex's subtasks in one checkpoint. */
export function subtasksJson(s: CheckpointStats, t: VertexCheckpointStats, now: number): Json {
  const acked = t.subtasks.filter((x): x is SubtaskCheckpointStats => x !== null)
  const e2e = (x: SubtaskCheckpointStats) => x.ackAt - s.triggeredAt
  return {
    ...taskJson(s, t, now),
    summary: {
      checkpointed_size: minMaxAvg(acked.map((x) => x.checkpointedSize)),
      state_size: minMaxAvg(acked.map((x) => x.stateSize)),
      end_to_end_duration: minMaxAvg(acked.map(e2e)),
      checkpoint_duration: { sync: minMaxAvg(acked.map((x) => x.syncMs)), async: minMaxAvg(acked.map((x) => x.asyncMs)) },
      alignment: {
        buffered: minMaxAvg([]), processed: minMaxAvg([]),
        persisted: minMaxAvg(acked.map((x) => x.persistedBytes)), duration: minMaxAvg(acked.map((x) => x.alignmentMs)),
      },
      start_delay: minMaxAvg(acked.map((x) => x.startDelayMs)),
    },
    subtasks: t.subtasks.map((x, index) =>
      x === null
        ? { index, status: 'pending_or_failed' }
        : {
            index,
            status: 'completed',
            ack_timestamp: x.ackAt,
            end_to_end_duration: e2e(x),
            state_size: x.stateSize,
            checkpointed_size: x.checkpointedSize,
            checkpoint: { sync: Math.round(x.syncMs), async: Math.round(x.asyncMs) },
            alignment: { buffered: 0, processed: 0, persisted: x.persistedBytes, duration: Math.round(x.alignmentMs) },
            start_delay: Math.round(x.startDelayMs),
            unaligned_checkpoint: x.unaligned,
            aborted: false,
          },
    ),
  }
}

/** The latest retained checkpoint when its statistics are not in this run's history (a restored job). */
export function refJson(ref: CompletedCheckpointRef): Json {
  const m = ref.metadata
  const subtasks = m.vertices.flatMap((v) => v.subtasks)
  const size = subtasks.reduce((n, s) => n + s.stateSize, 0)
  return {
    className: 'completed',
    id: ref.id,
    status: 'COMPLETED',
    is_savepoint: false,
    savepointFormat: null,
    checkpoint_type: 'CHECKPOINT',
    trigger_timestamp: m.triggeredAt,
    latest_ack_timestamp: m.completedAt,
    checkpointed_size: size,
    state_size: size,
    end_to_end_duration: m.completedAt - m.triggeredAt,
    alignment_buffered: 0,
    processed_data: 0,
    persisted_data: 0,
    num_subtasks: subtasks.length,
    num_acknowledged_subtasks: subtasks.length,
    external_path: ref.dir,
    discarded: false,
    failure_timestamp: null,
    failure_message: null,
  }
}
