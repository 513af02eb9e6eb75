// The embedded mini cluster that `weir run` starts without a JobManager address: a dispatcher
// and one TaskManager in this process, whose slots are worker threads. It is the same
// JobManager code as the standalone `weir jobmanager`; only the transport between the job
// master and the TaskManager differs (direct calls here, RPC over TCP in cluster mode).
//
// JobExecution.start(...) is the entry the CLI, the REST layer's tests and the test helpers
// use: it runs one job on a mini cluster sized for it and returns the job's master.
//
// The JobManager's modules are loaded with this file on the main thread only: the public API
// exports JobExecution, and every slot thread imports that API through the job it runs, so
// importing the dispatcher, the job master's states, the checkpoint coordinator and the
// TaskManager statically made each slot thread load about 30 modules it never uses (a fifth of
// what importing the API loads, paid again by every thread a job starts).

import { isMainThread } from 'node:worker_threads'
import { SLOT_THREADS, SPARE_SLOT_THREADS, TASK_SLOTS } from '../../config/options.ts'
import type { JobMaster } from './job-master.ts'
import type { JobRunOptions } from './job-types.ts'

export type { JobRunOptions, JobMetrics, JobStatus, JobResult, LogContext } from './job-types.ts'

const loadJobManager = () => Promise.all([import('./states/created.ts'), import('./dispatcher.ts'), import('./ha/memory-ha-services.ts'), import('../taskmanager/task-manager.ts')])
/** Loaded before this module's importers run, on the main thread (where jobs are started). */
const mainThreadModules = isMainThread ? await loadJobManager() : null

/** A running job on the embedded mini cluster: its job master. */
export type JobExecution = JobMaster

export const JobExecution = {
  /** Compiles the job and deploys it; the returned execution's `result` settles when it ends. */
  async start(options: JobRunOptions): Promise<JobExecution> {
    const [{ prepareJob }, { Dispatcher, requiredSlots }, { MemoryHaServices }, { spareSlotThreads, TaskManager }] = mainThreadModules ?? await loadJobManager()
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
