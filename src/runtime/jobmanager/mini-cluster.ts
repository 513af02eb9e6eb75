// The embedded mini cluster that `weir run` starts without a JobManager address: a dispatcher
// and one TaskManager in this process, whose slots are worker threads. It is the same
// JobManager code as the standalone `weir jobmanager`; only the transport between the job
// master and the TaskManager differs (direct calls here, RPC over TCP in cluster mode).
//
// JobExecution.start(...) is the entry the CLI, the REST layer's tests and the test helpers
// use: it runs one job on a mini cluster sized for it and returns the job's master.

import { SLOT_THREADS, SPARE_SLOT_THREADS, TASK_SLOTS } from '../../config/options.ts'
import { spareSlotThreads, TaskManager } from '../taskmanager/task-manager.ts'
import { Dispatcher, requiredSlots } from './dispatcher.ts'
import { MemoryHaServices } from './ha/memory-ha-services.ts'
import type { JobMaster } from './job-master.ts'
import type { JobRunOptions } from './job-types.ts'
import { prepareJob } from './states/created.ts'

export type { JobRunOptions, JobMetrics, JobStatus, JobResult, LogContext } from './job-types.ts'
export { socketWarning } from './states/created.ts'

/** A running job on the embedded mini cluster: its job master. */
export type JobExecution = JobMaster

export const JobExecution = {
  /** Compiles the job and deploys it; the returned execution's `result` settles when it ends. */
  async start(options: JobRunOptions): Promise<JobExecution> {
    const prepared = await prepareJob(options)
    // One slot per subtask of the widest vertex, unless taskmanager.numberOfTaskSlots says otherwise.
    const configured = prepared.job.config.get(TASK_SLOTS)
    const slots = configured > 0 ? configured : requiredSlots(prepared.job)
    const dispatcher = new Dispatcher({ ha: new MemoryHaServices(), slotsFor: () => slots })
    const slotThreads = prepared.job.config.get(SLOT_THREADS)
    const taskManager = new TaskManager('embedded', slots, undefined, slotThreads, spareSlotThreads(prepared.job.config.get(SPARE_SLOT_THREADS), slots, slotThreads, false))
    dispatcher.slotPool.register(taskManager)
    const master = await dispatcher.start(prepared, options)
    void master.result.finally(() => taskManager.shutdown())
    return master
  },
}
