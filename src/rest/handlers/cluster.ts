// The cluster's routes: /overview, /config, /taskmanagers and /taskmanagers/:id (Flink's field names).

import { ok, type Handler } from './context.ts'
import { notFound } from '../rest-error.ts'
import { jobState } from './jobs.ts'
import type { TaskManagerView } from '../cluster-view.ts'

/** GET /overview */
export const clusterOverview: Handler = (ctx) => {
  const tms = ctx.cluster.taskManagers()
  const states = ctx.registry.list().map(jobState)
  const count = (...s: string[]) => states.filter((x) => s.includes(x)).length
  return ok({
    taskmanagers: tms.length,
    'slots-total': tms.reduce((n, t) => n + t.slotsNumber, 0),
    'slots-available': tms.reduce((n, t) => n + t.freeSlots, 0),
    'jobs-running': count('RUNNING', 'RESTARTING', 'CANCELLING'),
    'jobs-finished': count('FINISHED'),
    'jobs-cancelled': count('CANCELED'),
    'jobs-failed': count('FAILED'),
    'flink-version': ctx.cluster.version,
    'flink-commit': 'weir',
  })
}

/** GET /config: what the web UI needs to know of the server. */
export const dashboardConfig: Handler = (ctx) => {
  const offset = -new Date().getTimezoneOffset() * 60_000
  return ok({
    'refresh-interval': 3000,
    'timezone-name': Intl.DateTimeFormat().resolvedOptions().timeZone,
    'timezone-offset': offset,
    'flink-version': ctx.cluster.version,
    'flink-revision': 'weir',
    features: { 'web-submit': false, 'web-cancel': true, 'web-history': false, 'web-rescale': false },
  })
}

function taskManagerJson(tm: TaskManagerView): Record<string, unknown> {
  const resource = (slots: number) => ({ cpuCores: slots, taskHeapMemory: 0, taskOffHeapMemory: 0, managedMemory: 0, networkMemory: 0, extendedResources: {} })
  return {
    id: tm.id, path: tm.path, dataPort: tm.dataPort, jmxPort: -1, timeSinceLastHeartbeat: tm.timeSinceLastHeartbeat,
    slotsNumber: tm.slotsNumber, freeSlots: tm.freeSlots,
    totalResource: resource(tm.slotsNumber), freeResource: resource(tm.freeSlots),
    hardware: tm.hardware,
  }
}

/** GET /taskmanagers */
export const listTaskManagers: Handler = (ctx) => ok({ taskmanagers: ctx.cluster.taskManagers().map(taskManagerJson) })

/** GET /taskmanagers/:taskmanagerid */
export const taskManagerDetails: Handler = (ctx) => {
  const id = ctx.params['taskmanagerid']!
  const tm = ctx.cluster.taskManagers().find((t) => t.id === id)
  if (!tm) throw notFound(`no TaskManager with id '${id}'; GET /taskmanagers lists them`)
  return ok({ ...taskManagerJson(tm), metrics: tm.metrics() })
}
