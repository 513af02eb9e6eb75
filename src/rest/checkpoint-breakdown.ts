// Where a checkpoint's time went, which Flink's UI leaves to experts: per vertex, the slowest
// subtask's end-to-end time split into start delay (until the barrier arrived), alignment, the
// synchronous phase, the asynchronous upload and the rest (acknowledgement, finalization); and
// one sentence saying what dominated and which setting would help. Pure: statistics in, JSON out.

import type { CheckpointStats, SubtaskCheckpointStats } from '../checkpoint/checkpoint-stats.ts'
import type { ManagedVertex } from './job-registry.ts'

export type Phase = 'start_delay' | 'alignment' | 'sync' | 'async' | 'other'

export interface PhaseTimes {
  readonly start_delay: number
  readonly alignment: number
  readonly sync: number
  readonly async: number
  readonly other: number
}

export interface VertexBreakdown {
  readonly vertex: number
  readonly name: string
  /** The subtask that acknowledged last, and its times. */
  readonly slowest_subtask: number | null
  readonly end_to_end_duration: number
  readonly phases: PhaseTimes
  readonly state_size: number
  readonly checkpointed_size: number
}

export interface CheckpointBreakdown {
  readonly id: number
  readonly end_to_end_duration: number
  readonly vertices: readonly VertexBreakdown[]
  /** The phases of the slowest subtask, "other" including the JobManager's finalization up to completion. */
  readonly critical_path: PhaseTimes | null
  /** The phase that took the largest share of the slowest subtask's time, if one stands out. */
  readonly dominant: Phase | null
  readonly sentence: string
}

export interface BreakdownContext {
  readonly unaligned: boolean
  readonly incremental: boolean
  readonly backend: string
}

function phasesOf(s: SubtaskCheckpointStats, triggeredAt: number): PhaseTimes {
  const e2e = Math.max(0, s.ackAt - triggeredAt)
  const start = Math.max(0, s.startDelayMs)
  const alignment = Math.max(0, s.alignmentMs)
  const sync = Math.max(0, s.syncMs)
  const async = Math.max(0, s.asyncMs)
  const other = Math.max(0, e2e - start - alignment - sync - async)
  return { start_delay: Math.round(start), alignment: Math.round(alignment), sync: Math.round(sync), async: Math.round(async), other: Math.round(other) }
}

const ZERO: PhaseTimes = { start_delay: 0, alignment: 0, sync: 0, async: 0, other: 0 }

export function breakdown(stats: CheckpointStats, vertices: readonly ManagedVertex[], ctx: BreakdownContext, now = Date.now()): CheckpointBreakdown {
  const e2e = stats.durationMs !== null && stats.status !== 'IN_PROGRESS' ? Math.round(stats.durationMs) : now - stats.triggeredAt
  const out: VertexBreakdown[] = []
  let critical: { v: VertexBreakdown; s: SubtaskCheckpointStats } | null = null
  for (const v of vertices) {
    const t = stats.tasks.get(v.id)
    if (!t) continue
    let slowest: SubtaskCheckpointStats | null = null
    for (const s of t.subtasks) if (s && (slowest === null || s.ackAt > slowest.ackAt)) slowest = s
    const vb: VertexBreakdown = {
      vertex: v.id, name: v.name, slowest_subtask: slowest?.subtask ?? null,
      end_to_end_duration: slowest ? Math.max(0, slowest.ackAt - stats.triggeredAt) : -1,
      phases: slowest ? phasesOf(slowest, stats.triggeredAt) : ZERO,
      state_size: t.stateSize, checkpointed_size: t.checkpointedSize,
    }
    out.push(vb)
    if (slowest && (critical === null || slowest.ackAt > critical.s.ackAt)) critical = { v: vb, s: slowest }
  }
  if (critical === null) {
    const what = stats.status === 'IN_PROGRESS' ? 'no task has acknowledged it yet' : 'no task acknowledged it'
    return { id: stats.id, end_to_end_duration: e2e, vertices: out, critical_path: null, dominant: null, sentence: `Checkpoint ${stats.id}: ${what}${stats.failureReason ? ` (${stats.failureReason})` : ''}.` }
  }
  // The critical path: the subtask that acknowledged last, then the JobManager finishing the
  // checkpoint (its "other" share grows by the time from that acknowledgement to completion).
  const cp = critical.v.phases
  const p: PhaseTimes = { ...cp, other: Math.max(0, e2e - cp.start_delay - cp.alignment - cp.sync - cp.async) }
  const order: Phase[] = ['start_delay', 'alignment', 'sync', 'async', 'other']
  let dominant: Phase = 'start_delay'
  for (const ph of order) if (p[ph] > p[dominant]) dominant = ph
  const total = Math.max(1, e2e, order.reduce((n, ph) => n + p[ph], 0))
  const share = p[dominant] / total
  const where = `'${critical.v.name}' subtask ${critical.s.subtask + 1}`
  const head = `Checkpoint ${stats.id} took ${fmtMs(e2e)}`
  // Below 20 ms nothing is worth tuning; a phase must also take a clear share to "dominate".
  if (p[dominant] < 20 || share < 0.4) {
    return { id: stats.id, end_to_end_duration: e2e, vertices: out, critical_path: p, dominant: null, sentence: `${head}; no phase stands out (slowest: ${where}).` }
  }
  return { id: stats.id, end_to_end_duration: e2e, vertices: out, critical_path: p, dominant, sentence: `${head}, ${Math.round(share * 100)}% of it ${advice(dominant, p[dominant], where, critical.v, ctx)}` }
}

/** Below this, the size of the state is not what makes an upload slow. */
const SMALL_STATE = 1 << 20

function advice(phase: Phase, ms: number, where: string, v: VertexBreakdown, ctx: BreakdownContext): string {
  const t = fmtMs(ms)
  switch (phase) {
    case 'start_delay':
      return ctx.unaligned
        ? `waiting for the barrier to reach ${where} (${t}) although checkpoints are unaligned: the sources are slow to take the trigger, or the tasks are busy; more parallelism for the busiest vertex would help.`
        : `waiting for the barrier to reach ${where} (${t}) behind buffered records: the job is back-pressured; unaligned checkpoints (execution.checkpointing.unaligned.enabled: true) let barriers overtake them, and fewer buffers (taskmanager.network.credits-per-channel) shorten the queue.`
    case 'alignment':
      return `aligning barriers at ${where} (${t}): its inputs deliver barriers at different times, typically under back-pressure; unaligned checkpoints (execution.checkpointing.unaligned.enabled: true, or an execution.checkpointing.aligned-checkpoint-timeout) avoid the wait.`
    case 'sync':
      return ctx.backend === 'lmdb'
        ? `in the synchronous phase at ${where} (${t}): capturing state holds the task; check user snapshotState code and timers.`
        : `in the synchronous phase at ${where} (${t}): capturing ${fmtBytes(v.state_size)} of heap state holds the task; state.backend.type: lmdb pins a read transaction instead of copying.`
    case 'async':
      if (v.checkpointed_size < SMALL_STATE) {
        return `uploading ${fmtBytes(v.checkpointed_size)} of state from ${where} (${t}): for so little state the storage's latency per file, not the size, is the cost; checkpoint storage closer to the job (or execution.checkpointing.storage: jobmanager for small state) would help.`
      }
      return ctx.incremental
        ? `uploading ${fmtBytes(v.checkpointed_size)} of state from ${where} (${t}) although checkpoints are incremental: the checkpoint storage is slow for this size; faster storage or more parallelism (smaller shares) would help.`
        : `uploading ${fmtBytes(v.state_size)} of state from ${where} (${t}): incremental checkpoints (execution.checkpointing.incremental: true, with either backend) upload only what changed.`
    case 'other':
      return `after the tasks' snapshots, acknowledging and finalizing the checkpoint (${t}; last to acknowledge: ${where}): the JobManager's metadata write to the checkpoint storage is slow, or the JobManager is busy.`
  }
}

export function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  return `${Math.round(ms)} ms`
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`
  return `${n} B`
}
