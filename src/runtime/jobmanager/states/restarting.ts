// RESTARTING: the running attempt failed. The restart strategy decides whether the job
// restarts and after what delay; the restart restores every task from the latest completed
// checkpoint (or the initial savepoint, or the beginning), on whatever slots are registered
// by then, including TaskManagers that joined after the failure. As in Flink, the delay counts
// from the failure, while the attempt's surviving tasks are canceled: the restart comes when
// both the delay is over and the cancellation acknowledged (the latter is done on entry here).

import { WeirError, isWeirError } from '../../../errors.ts'
import { planRestore, type RestorePlan } from '../../../checkpoint/restore-plan.ts'
import type { JobMasterContext, Transition } from './job-state.ts'

/** Failures kept for the exception history (Flink's web.exception-history-size default is 16). */
const EXCEPTION_HISTORY = 16

export async function restarting(ctx: JobMasterContext, error: WeirError, failedAt: number = Date.now()): Promise<Transition> {
  const strategy = ctx.restartStrategy
  ctx.failures.push({ error, timestamp: failedAt, attempt: ctx.attemptNumber })
  if (ctx.failures.length > EXCEPTION_HISTORY) ctx.failures.shift()
  strategy.notifyFailure(failedAt)
  if (!error.retriable || !strategy.canRestart()) {
    if (error.retriable && strategy.name !== 'none') ctx.log(`Not restarting: ${strategy.describeLimit()}`, { level: 'warn', attempt: ctx.attemptNumber })
    return { to: 'failed', error }
  }
  const delay = strategy.backoffMs()
  // The cancellation of the attempt's other tasks took part of the delay already.
  const wait = Math.max(0, delay - (Date.now() - failedAt))
  ctx.status = 'RESTARTING'
  ctx.statusTimestamps['RESTARTING'] = Date.now()
  const latest = ctx.coordinator.latest
  const initial = ctx.initialRestore
  const loc = (error as { location?: { subtaskIndex: number; operatorName: string } }).location
  ctx.log(`Attempt ${ctx.attemptNumber} of job '${ctx.job.name}' failed: ${error.message}`, { level: 'warn', attempt: ctx.attemptNumber, ...(loc ? { task: loc.operatorName, subtask: loc.subtaskIndex } : {}) })
  ctx.log(`Restarting in ${wait} ms from ${latest ? `checkpoint ${latest.id}` : initial ? `checkpoint ${initial.checkpointId}` : 'the beginning (no checkpoint completed yet)'} (${strategy.name}${wait < delay ? `, backoff ${delay} ms from the failure` : ''})`)
  await cancellableDelay(wait, ctx.cancellation)
  if (ctx.canceled) return { to: 'canceled' }
  ctx.restarts++
  ctx.attemptNumber++
  let restore: RestorePlan | null
  try {
    restore = latest ? planRestore(latest.metadata, latest.dir, ctx.job.graph, ctx.options.allowNonRestoredState ?? false) : initial
  } catch (e) {
    return { to: 'failed', error: isWeirError(e) ? e : new WeirError('WEIR_RESTORE_FAILED', (e as Error).message) }
  }
  if (restore) {
    ctx.restored = { id: restore.checkpointId, path: latest?.dir ?? initial?.source ?? null, isSavepoint: latest ? false : (initial?.isSavepoint ?? false), restoredAt: Date.now() }
    ctx.restoreCount++
  }
  return { to: 'running', restore }
}

function cancellableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(t)
      resolve()
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
