// FINISHED, FAILED, CANCELED: the job's terminal states. The coordinator shuts down (keeping or
// deleting checkpoints as the retention policy says for this status), the job's working
// directories go, the JobManager forgets the job in its high-availability store, and the
// job's result settles. The dispatcher keeps the result for the REST API.

import { LMDB_LOCAL_DIR, STATE_BACKEND } from '../../../config/options.ts'
import { removeJobWorkingDirs } from '../../../state/lmdb/working-dir.ts'
import type { WeirError } from '../../../errors.ts'
import type { JobStatus } from '../job-types.ts'
import type { JobMasterContext } from './job-state.ts'

export async function ended(ctx: JobMasterContext, status: JobStatus, error?: WeirError): Promise<void> {
  ctx.status = status
  ctx.endTime = Date.now()
  ctx.statusTimestamps[status] ??= ctx.endTime
  const metrics = ctx.attempt?.metrics ?? { recordsIn: 0, recordsOut: 0 }
  await ctx.coordinator.shutdown(status).catch(() => {})
  // Slots are terminated without running their exit hooks: remove LMDB working directories here.
  if (ctx.job.config.get(STATE_BACKEND) === 'lmdb') removeJobWorkingDirs(ctx.job.config.get(LMDB_LOCAL_DIR), ctx.jobId)
  await ctx.services.ha.removeJob(ctx.jobId).catch(() => {})
  ctx.settle({
    jobId: ctx.jobId, jobName: ctx.job.name, status, error, durationMs: performance.now() - ctx.started, slots: ctx.slots,
    restarts: ctx.restarts, checkpoints: { ...ctx.coordinator.counts }, ...metrics,
  })
}
