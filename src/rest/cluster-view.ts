// What the REST API knows of the cluster beside its jobs: the TaskManagers, for /overview and
// /taskmanagers. The embedded mini cluster of `weir run` is one TaskManager in this process; a
// JobManager process (cluster mode) passes its own view with the TaskManagers registered with it.

import { hostname, availableParallelism, totalmem, freemem } from 'node:os'
import type { JobRegistry } from './job-registry.ts'

export interface TaskManagerView {
  readonly id: string
  /** Where it is reached (for the embedded one: this process). */
  readonly path: string
  readonly dataPort: number
  readonly slotsNumber: number
  readonly freeSlots: number
  readonly timeSinceLastHeartbeat: number
  readonly hardware: { readonly cpuCores: number; readonly physicalMemory: number; readonly freeMemory: number; readonly managedMemory: number }
  /** Process metrics (heap, RSS) when known. */
  readonly metrics: () => Record<string, number>
}

export interface ClusterView {
  taskManagers(): readonly TaskManagerView[]
  /** Weir's version, for /config and /overview. */
  readonly version: string
}

/** The embedded cluster: one TaskManager, this process, with as many slots as the largest running job uses. */
export function embeddedClusterView(registry: JobRegistry, version: string): ClusterView {
  const id = `${hostname()}:${process.pid}-embedded`
  return {
    version,
    taskManagers() {
      const running = registry.list().filter((e) => e.job.status === 'RUNNING' || e.job.status === 'RESTARTING')
      const slots = Math.max(0, ...registry.list().map((e) => e.job.slots))
      const used = Math.max(0, ...running.map((e) => e.job.slots))
      return [{
        id, path: `weir://${hostname()}/${process.pid}`, dataPort: -1, slotsNumber: slots, freeSlots: slots - used, timeSinceLastHeartbeat: 0,
        hardware: { cpuCores: availableParallelism(), physicalMemory: totalmem(), freeMemory: freemem(), managedMemory: 0 },
        metrics: () => {
          const m = process.memoryUsage()
          return { heapUsed: m.heapUsed, heapCommitted: m.heapTotal, heapMax: m.heapTotal, rss: m.rss, nonHeapUsed: m.external, nonHeapCommitted: m.external, nonHeapMax: -1 }
        },
      }]
    },
  }
}
