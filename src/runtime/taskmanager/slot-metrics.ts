// What a slot reports to the JobManager every metrics interval: per task its counters, busy and
// back-pressured time, watermark and user metrics, and the slot's records in (from its sources)
// and out (into its sinks).

import type { Task } from './task.ts'
import { SinkOperator } from '../../operators/sink.ts'
import type { FromWorker } from '../messages.ts'
import type { SubtaskState, TaskMetricsSample, UserMetricSample } from '../../metrics/task-metrics-sample.ts'

const SUBTASK_STATE: Record<Task['state'], SubtaskState> = { running: 'RUNNING', ended: 'RUNNING', finished: 'FINISHED', failed: 'FAILED', canceled: 'CANCELED' }

/** The metrics message for `tasks`, as of now (their busy and idle time is accounted up to now). */
export function slotMetrics(tasks: readonly Task[]): Extract<FromWorker, { type: 'metrics' }> {
  let recordsIn = 0
  let recordsOut = 0
  const now = performance.now()
  const wall = Date.now()
  const samples: TaskMetricsSample[] = []
  const watermarks: number[] = []
  for (const t of tasks) {
    recordsIn += t.recordsOut
    for (const op of t.operators) if (op instanceof SinkOperator) recordsOut += op.count
    watermarks.push(t.vertex.id, t.subtaskIndex, t.currentWatermark)
    t.activity.account(now)
    const user: UserMetricSample[] = []
    for (const g of t.metricGroups) g.sample(wall, user)
    samples.push({
      vertex: t.vertex.id, subtask: t.subtaskIndex, state: SUBTASK_STATE[t.state],
      recordsIn: t.recordsIn, recordsOut: t.recordsEmitted, bytesIn: t.bytesIn, bytesOut: t.bytesOut,
      busyMs: t.activity.busyMs, idleMs: t.activity.idleMs, backPressuredMs: t.activity.backPressuredMs,
      lastCheckpointAlignmentMs: t.lastAlignmentMs, lastCheckpointStartDelayMs: t.lastStartDelayMs, watermark: t.currentWatermark, user,
    })
  }
  return { type: 'metrics', recordsIn, recordsOut, watermarks, tasks: samples }
}
