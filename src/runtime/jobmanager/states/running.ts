// RUNNING: get the slots the job needs (waiting up to slot.request.timeout), deploy one attempt
// on them, and wait for its end. A finished attempt finishes the job; a failed one goes to
// restarting, which asks the restart strategy.

import type { FsCheckpointStorage } from '../../../checkpoint/storage/fs-checkpoint-storage.ts'
import { Attempt } from '../attempt.ts'
import { WeirError, isWeirError } from '../../../errors.ts'
import { SLOT_REQUEST_TIMEOUT } from '../../../config/options.ts'
import type { MemoryCheckpointStorage } from '../../../checkpoint/storage/memory-checkpoint-storage.ts'
import type { CheckpointingSetup } from '../../messages.ts'
import type { RestorePlan } from '../../../checkpoint/restore-plan.ts'
import type { AllocatedSlot } from '../scheduler.ts'
import type { JobMasterContext, Transition } from './job-state.ts'

export async function running(ctx: JobMasterContext, restore: RestorePlan | null): Promise<Transition> {
  ctx.status = 'RUNNING'
  ctx.statusTimestamps['RUNNING'] ??= Date.now()
  const pool = ctx.services.slotPool
  let slots: AllocatedSlot[]
  if (pool.freeSlots < ctx.slots) ctx.log(`Waiting for ${ctx.slots} slot(s) (up to slot.request.timeout): ${pool.freeSlots} free of ${pool.totalSlots} on ${pool.registered.length} TaskManager(s)`)
  try {
    slots = await pool.allocate(ctx.slots, ctx.job.config.get(SLOT_REQUEST_TIMEOUT) ?? Infinity, ctx.cancellation)
  } catch (e) {
    if (ctx.canceled) return { to: 'canceled' }
    return { to: 'failed', error: isWeirError(e) ? e : new WeirError('WEIR_INTERNAL', (e as Error).message, { cause: e }) }
  }
  const { checkpointOptions: cp, coordinator } = ctx
  const checkpointing: CheckpointingSetup = {
    periodic: cp.intervalMs !== null,
    exactlyOnce: cp.exactlyOnce,
    unaligned: cp.unaligned,
    alignedTimeoutMs: cp.alignedTimeoutMs,
    storage: coordinator.storage.type === 'filesystem'
      ? { type: 'filesystem', baseDir: (coordinator.storage as FsCheckpointStorage).baseDir }
      : { type: 'jobmanager', maxStateBytes: (coordinator.storage as MemoryCheckpointStorage).maxStateBytes },
  }
  const attemptNumber = ctx.attemptNumber
  ctx.taskMetrics.startAttempt(attemptNumber)
  const attempt = new Attempt({
    job: ctx.job, jobId: ctx.jobId, slots, attemptNumber: ctx.attemptNumber,
    artifactUrl: ctx.options.artifactUrl, args: ctx.options.args ?? [], checkpointing, restore,
    coordinator,
    onStdout: ctx.options.onStdout, onMetrics: ctx.options.onMetrics,
    onTaskMetrics: (samples) => ctx.taskMetrics.update(samples),
    logTaskLifecycle: ctx.options.logTaskLifecycle,
    onTaskLog: (level, msg, vertex, subtask) => ctx.log(msg, { level, attempt: attemptNumber, vertex, subtask }),
  })
  const stopListening = pool.onTaskManagerLost((id, error) => attempt.taskManagerLost(id, error))
  ctx.attempt = attempt
  ctx.attemptStartedAt = performance.now()
  if (ctx.canceled) await attempt.cancel()
  const outcome = await attempt.outcome
  stopListening()
  pool.release(slots)
  if (outcome.kind === 'finished' || ctx.stopping) return { to: 'finished' }
  if (outcome.kind === 'canceled' || ctx.canceled) return { to: 'canceled' }
  return { to: 'restarting', error: outcome.error, failedAt: attempt.endedAt ?? Date.now() }
}
