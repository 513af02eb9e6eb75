// /metrics in Prometheus' text format, with prom-client. Names follow Flink's Prometheus
// reporter with `weir` in place of `flink`: the scope becomes the name's prefix
// (weir_jobmanager_job_lastCheckpointDuration, weir_taskmanager_job_task_numRecordsIn,
// weir_taskmanager_job_task_operator_<user metric>) and the scope's variables become labels
// (job_id, job_name, task_id, task_name, subtask_index, tm_id, operator_name). Values are read
// from the job master's state at scrape time, so scraping costs the tasks nothing.

import type { Gauge, Registry } from 'prom-client'
import type * as PromClient from 'prom-client'
import { lazyPackage } from '../io/lazy-package.ts'
import { JOB_METRIC_NAMES, TASK_METRIC_NAMES, jobMetricValues } from '../metrics/job-metrics.ts'
import type { JobRegistry, ManagedJob } from './job-registry.ts'
import type { ClusterView } from './cluster-view.ts'

/** prom-client and its OpenTelemetry dependency (some 80 modules), loaded at the first scrape, not at every command's start. */
const promClient = lazyPackage<typeof PromClient>('prom-client')

const JOB_LABELS = ['job_id', 'job_name'] as const
const TASK_LABELS = ['job_id', 'job_name', 'task_id', 'task_name', 'subtask_index', 'tm_id'] as const
const OPERATOR_LABELS = [...TASK_LABELS, 'operator_name'] as const
const QUANTILES: ReadonlyArray<[string, keyof import('../metrics/task-metrics-sample.ts').HistogramStatistics]> = [
  ['0.5', 'p50'], ['0.75', 'p75'], ['0.95', 'p95'], ['0.98', 'p98'], ['0.99', 'p99'], ['0.999', 'p999'],
]

/** Prometheus metric names allow [a-zA-Z0-9_:]; Flink's reporter replaces everything else with '_'. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_')
}

export class PrometheusExporter {
  private registryInstance: Registry | null = null
  private readonly gauges = new Map<string, Gauge<string>>()

  constructor(private readonly jobs: JobRegistry, private readonly cluster: ClusterView) {}

  private get registry(): Registry {
    return (this.registryInstance ??= new (promClient().Registry)())
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The text of one scrape. */
  async scrape(): Promise<string> {
    for (const g of this.gauges.values()) g.reset()
    const tmId = this.cluster.taskManagers()[0]?.id ?? 'embedded'
    for (const entry of this.jobs.list()) this.collectJob(entry.job, tmId)
    const tms = this.cluster.taskManagers()
    for (const tm of tms) {
      const m = tm.metrics()
      this.gauge('weir_taskmanager_Status_JVM_Memory_Heap_Used', ['tm_id'], 'Heap bytes used by the TaskManager process').set({ tm_id: tm.id }, m['heapUsed'] ?? 0)
      this.gauge('weir_taskmanager_Status_Process_RSS', ['tm_id'], 'Resident set size of the TaskManager process').set({ tm_id: tm.id }, m['rss'] ?? 0)
      this.gauge('weir_taskmanager_Status_Slots_Total', ['tm_id'], 'Slots of the TaskManager').set({ tm_id: tm.id }, tm.slotsNumber)
    }
    this.gauge('weir_jobmanager_numRegisteredTaskManagers', [], 'TaskManagers registered with the JobManager').set(tms.length)
    this.gauge('weir_jobmanager_numRunningJobs', [], 'Jobs running').set(this.jobs.list().filter((e) => e.job.status === 'RUNNING' || e.job.status === 'RESTARTING').length)
    return this.registry.metrics()
  }

  private collectJob(job: ManagedJob, tmId: string): void {
    const jl = { job_id: job.jobId, job_name: job.job.name }
    const values = jobMetricValues(job)
    for (const name of JOB_METRIC_NAMES) this.gauge(`weir_jobmanager_job_${name}`, JOB_LABELS, `Flink's job metric ${name}`).set(jl, values[name])
    const latest = job.coordinator.stats.latestCompleted
    for (const v of job.job.graph.vertices) {
      const taskLabels = { ...jl, task_id: String(v.id), task_name: v.name }
      const vertexStats = latest?.tasks.get(v.id)
      job.taskMetrics.vertex(v.id, v.parallelism).forEach((m, subtask) => {
        const labels = { ...taskLabels, subtask_index: String(subtask), tm_id: tmId }
        const sub = vertexStats?.subtasks[subtask]
        if (sub) {
          this.gauge('weir_taskmanager_job_task_lastCheckpointFullSize', TASK_LABELS, 'Full state size of the subtask in the latest completed checkpoint (bytes)').set(labels, sub.stateSize)
          this.gauge('weir_taskmanager_job_task_lastCheckpointSize', TASK_LABELS, 'Bytes the subtask wrote for the latest completed checkpoint').set(labels, sub.checkpointedSize)
        }
        if (!m) return
        for (const name of TASK_METRIC_NAMES) this.gauge(`weir_taskmanager_job_task_${name}`, TASK_LABELS, `Flink's task metric ${name}`).set(labels, m[name])
        for (const u of m.user) {
          const ol = { ...labels, operator_name: u.operator }
          const base = `weir_taskmanager_job_task_operator_${sanitize(u.name)}`
          if (u.kind === 'counter') this.gauge(base, OPERATOR_LABELS, 'user counter').set(ol, u.count)
          else if (u.kind === 'gauge') this.gauge(base, OPERATOR_LABELS, 'user gauge').set(ol, u.value)
          else if (u.kind === 'meter') this.gauge(base, OPERATOR_LABELS, 'user meter (events per second)').set(ol, u.rate)
          else {
            const h = this.gauge(base, [...OPERATOR_LABELS, 'quantile'], 'user histogram')
            for (const [q, key] of QUANTILES) h.set({ ...ol, quantile: q }, u.stats[key])
            this.gauge(`${base}_count`, OPERATOR_LABELS, 'user histogram: values recorded').set(ol, u.stats.count)
          }
        }
      })
    }
  }

  private gauge(name: string, labelNames: readonly string[], help: string): Gauge<string> {
    let g = this.gauges.get(name)
    if (!g) {
      g = new (promClient().Gauge)({ name, help, labelNames: [...labelNames], registers: [this.registry] })
      this.gauges.set(name, g)
    }
    return g
  }
}
