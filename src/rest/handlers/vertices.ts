// A job's vertices: details with subtasks, back-pressure (Flink 1.13+: from busy / idle /
// back-pressured time, no stack sampling), and the metric routes of jobs and vertices.

import type { SubtaskMetrics } from '../../metrics/job-metric-store.ts'
import { JOB_METRIC_NAMES, TASK_METRIC_NAMES, jobMetricValues } from '../../metrics/job-metrics.ts'
import type { ManagedJob, ManagedVertex } from '../job-registry.ts'
import { badRequest } from '../rest-error.ts'
import { jobEntry, ok, vertexOf, type Handler, type RequestContext } from './context.ts'
import { jobState } from './jobs.ts'

/** Flink's vertex and subtask metrics block (JobDetails / JobVertexDetails "metrics"). */
export function ioMetricsJson(list: ReadonlyArray<SubtaskMetrics | null>, complete: boolean): Record<string, unknown> {
  let readBytes = 0, writeBytes = 0, readRecords = 0, writeRecords = 0
  let busy = 0, idle = 0, bp = 0
  for (const m of list) {
    if (!m) continue
    readBytes += m.numBytesIn
    writeBytes += m.numBytesOut
    readRecords += m.numRecordsIn
    writeRecords += m.numRecordsOut
    busy = Math.max(busy, m.accumulatedBusyTime)
    idle = Math.max(idle, m.accumulatedIdleTime)
    bp = Math.max(bp, m.accumulatedBackPressuredTime)
  }
  return {
    'read-bytes': readBytes, 'read-bytes-complete': complete, 'write-bytes': writeBytes, 'write-bytes-complete': complete,
    'read-records': readRecords, 'read-records-complete': complete, 'write-records': writeRecords, 'write-records-complete': complete,
    'accumulated-backpressured-time': bp, 'accumulated-idle-time': idle, 'accumulated-busy-time': busy,
  }
}

/** A vertex's status: its subtasks' if all reported the same, else the job's running state. */
export function vertexStatus(job: ManagedJob, list: ReadonlyArray<SubtaskMetrics | null>): string {
  const state = job.status
  if (state === 'FINISHED' || state === 'FAILED' || state === 'CANCELED') return state === 'FAILED' ? 'FAILED' : state === 'CANCELED' ? 'CANCELED' : 'FINISHED'
  if (state === 'RESTARTING') return 'CANCELED'
  if (list.length > 0 && list.every((m) => m?.state === 'FINISHED')) return 'FINISHED'
  if (list.some((m) => m === null)) return 'DEPLOYING'
  return 'RUNNING'
}

export function taskCounts(status: string, list: ReadonlyArray<SubtaskMetrics | null>): Record<string, number> {
  const counts: Record<string, number> = { CREATED: 0, SCHEDULED: 0, DEPLOYING: 0, INITIALIZING: 0, RUNNING: 0, FINISHED: 0, CANCELING: 0, CANCELED: 0, FAILED: 0, RECONCILING: 0 }
  for (const m of list) {
    const s = m === null ? 'DEPLOYING' : status === 'RUNNING' || status === 'DEPLOYING' ? m.state : status
    counts[s] = (counts[s] ?? 0) + 1
  }
  return counts
}

/** GET /jobs/:jobid/vertices/:vertexid */
export const vertexDetails: Handler = (ctx) => {
  const entry = jobEntry(ctx)
  const job = entry.job
  const vertex = vertexOf(job, ctx.params['vertexid']!)
  const now = Date.now()
  const list = job.taskMetrics.vertex(vertex.id, vertex.parallelism)
  const status = vertexStatus(job, list)
  const start = job.taskMetrics.attemptStartedAt
  const end = job.endTime ?? -1
  const tm = ctx.cluster.taskManagers()[0]
  return ok({
    id: vertex.id, name: vertex.name, maxParallelism: vertex.maxParallelism, parallelism: vertex.parallelism, now,
    subtasks: list.map((m, subtask) => ({
      subtask,
      status: m === null ? 'DEPLOYING' : status === 'RUNNING' || status === 'DEPLOYING' ? m.state : status,
      attempt: job.attemptCount,
      endpoint: tm?.path ?? 'embedded',
      'start-time': start, 'end-time': end, duration: (end === -1 ? now : end) - start,
      metrics: ioMetricsJson([m], m !== null),
      'taskmanager-id': tm?.id ?? 'embedded',
      'start_time': start,
      'other-concurrent-attempts': [],
    })),
    state: jobState(entry),
  })
}

function level(ratio: number): 'ok' | 'low' | 'high' {
  // Flink's thresholds: up to 10% ok, up to 50% low, above high.
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high'
}

/** GET /jobs/:jobid/vertices/:vertexid/backpressure */
export const vertexBackPressure: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const vertex = vertexOf(job, ctx.params['vertexid']!)
  const list = job.taskMetrics.vertex(vertex.id, vertex.parallelism)
  const subtasks = list.map((m, subtask) => {
    const ratio = (m?.backPressuredTimeMsPerSecond ?? 0) / 1000
    return {
      subtask, 'attempt-number': job.attemptCount, backpressureLevel: level(ratio), ratio: round3(ratio),
      idleRatio: round3((m?.idleTimeMsPerSecond ?? 0) / 1000), busyRatio: round3((m?.busyTimeMsPerSecond ?? 0) / 1000),
    }
  })
  const worst = subtasks.reduce((x, s) => Math.max(x, s.ratio), 0)
  const updated = list.reduce((x, m) => Math.max(x, m?.updatedAt ?? 0), 0)
  return ok({ status: 'ok', backpressureLevel: level(worst), 'end-timestamp': updated || Date.now(), subtasks })
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}

/** The ?get= list; none means "list the available metrics". Unknown names are a 400 naming them. */
function requested(ctx: RequestContext, available: readonly string[]): string[] | null {
  const get = ctx.query.get('get')
  if (get === null) return null
  const names = get.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const unknown = names.filter((n) => !available.includes(n))
  if (unknown.length > 0) throw badRequest(`unknown metric(s) in parameter 'get': ${unknown.join(', ')}; GET without 'get' lists the available ones`)
  return names
}

/** GET /jobs/:jobid/metrics[?get=a,b] */
export const jobMetrics: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const values = jobMetricValues(job)
  const names = requested(ctx, JOB_METRIC_NAMES)
  if (names === null) return ok(JOB_METRIC_NAMES.map((id) => ({ id })))
  return ok(names.map((id) => ({ id, value: String(values[id as keyof typeof values]) })))
}

/** Every metric of one subtask by name, task metrics and the user metrics of its operators. */
export function subtaskMetricValues(m: SubtaskMetrics): Map<string, number> {
  const out = new Map<string, number>()
  for (const name of TASK_METRIC_NAMES) out.set(name, m[name])
  for (const u of m.user) {
    const base = `${u.operator}.${u.name}`
    if (u.kind === 'counter') out.set(base, u.count)
    else if (u.kind === 'gauge') out.set(base, u.value)
    else if (u.kind === 'meter') out.set(base, u.rate)
    else for (const [k, v] of Object.entries(u.stats)) out.set(`${base}_${k}`, v)
  }
  return out
}

function vertexMetricMap(job: ManagedJob, vertex: ManagedVertex): Map<string, number> {
  const out = new Map<string, number>()
  job.taskMetrics.vertex(vertex.id, vertex.parallelism).forEach((m, i) => {
    if (!m) return
    for (const [k, v] of subtaskMetricValues(m)) out.set(`${i}.${k}`, v)
  })
  return out
}

/** GET /jobs/:jobid/vertices/:vertexid/metrics[?get=0.numRecordsIn,...] (Flink's subtask-prefixed ids) */
export const vertexMetrics: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const vertex = vertexOf(job, ctx.params['vertexid']!)
  const values = vertexMetricMap(job, vertex)
  const available = [...values.keys()]
  const names = requested(ctx, available)
  if (names === null) return ok(available.map((id) => ({ id })))
  return ok(names.map((id) => ({ id, value: String(values.get(id)) })))
}

const AGGREGATIONS = ['min', 'max', 'avg', 'sum', 'skew'] as const

/** GET /jobs/:jobid/vertices/:vertexid/subtasks/metrics?get=numRecordsIn[&agg=sum,max] (aggregated over subtasks) */
export const aggregatedSubtaskMetrics: Handler = (ctx) => {
  const job = jobEntry(ctx).job
  const vertex = vertexOf(job, ctx.params['vertexid']!)
  const per = job.taskMetrics.vertex(vertex.id, vertex.parallelism).filter((m): m is SubtaskMetrics => m !== null).map(subtaskMetricValues)
  const available = [...new Set(per.flatMap((m) => [...m.keys()]))]
  const names = requested(ctx, available.length > 0 ? available : [...TASK_METRIC_NAMES])
  if (names === null) return ok(available.map((id) => ({ id })))
  const aggText = ctx.query.get('agg')
  const aggs = aggText === null ? [...AGGREGATIONS] : aggText.split(',').map((s) => s.trim())
  const bad = aggs.filter((a) => !(AGGREGATIONS as readonly string[]).includes(a))
  if (bad.length > 0) throw badRequest(`unknown aggregation(s) in parameter 'agg': ${bad.join(', ')}; use ${AGGREGATIONS.join(', ')}`)
  return ok(names.map((id) => {
    const xs = per.map((m) => m.get(id)).filter((v): v is number => v !== undefined)
    const sum = xs.reduce((a, b) => a + b, 0)
    const avg = xs.length > 0 ? sum / xs.length : 0
    const min = xs.length > 0 ? Math.min(...xs) : 0
    const max = xs.length > 0 ? Math.max(...xs) : 0
    const all: Record<string, number> = { min, max, avg, sum, skew: avg > 0 ? Math.round(((max - avg) / avg) * 100) : 0 }
    const row: Record<string, unknown> = { id }
    for (const a of aggs) row[a] = all[a]
    return row
  }))
}
