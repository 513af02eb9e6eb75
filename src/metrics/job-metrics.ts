// A job's JobManager-scope metrics with Flink's names (lastCheckpointDuration, numRestarts,
// uptime, ...), computed from the job master's state when asked, for the REST API and /metrics.

import type { ManagedJob } from '../rest/job-registry.ts'

export const JOB_METRIC_NAMES = [
  'lastCheckpointDuration', 'lastCheckpointSize', 'lastCheckpointFullSize', 'lastCheckpointRestoreTimestamp',
  'numberOfCompletedCheckpoints', 'numberOfFailedCheckpoints', 'numberOfInProgressCheckpoints', 'totalNumberOfCheckpoints',
  'numRestarts', 'uptime', 'downtime',
] as const

export type JobMetricName = (typeof JOB_METRIC_NAMES)[number]

export function jobMetricValues(job: ManagedJob, now = Date.now()): Record<JobMetricName, number> {
  const { stats, counts } = job.coordinator
  const last = stats.latestCompleted
  const running = job.status === 'RUNNING'
  const runningSince = job.taskMetrics.attemptStartedAt
  const restartingSince = job.statusTimestamps['RESTARTING'] ?? now
  return {
    lastCheckpointDuration: last ? Math.round(last.durationMs ?? 0) : -1,
    lastCheckpointSize: last ? last.checkpointedSize : -1,
    lastCheckpointFullSize: last ? last.stateSize : -1,
    lastCheckpointRestoreTimestamp: job.restored ? job.restored.restoredAt : -1,
    numberOfCompletedCheckpoints: counts.completed,
    numberOfFailedCheckpoints: counts.failed,
    numberOfInProgressCheckpoints: Math.max(0, counts.triggered - counts.completed - counts.failed),
    totalNumberOfCheckpoints: counts.triggered,
    numRestarts: job.attemptCount,
    uptime: running ? Math.max(0, now - runningSince) : job.endTime !== null ? -1 : 0,
    downtime: job.status === 'RESTARTING' ? Math.max(0, now - restartingSince) : 0,
  }
}

/** Task-scope metric names, as SubtaskMetrics has them. */
export const TASK_METRIC_NAMES = [
  'numRecordsIn', 'numRecordsOut', 'numBytesIn', 'numBytesOut',
  'numRecordsInPerSecond', 'numRecordsOutPerSecond', 'numBytesInPerSecond', 'numBytesOutPerSecond',
  'busyTimeMsPerSecond', 'idleTimeMsPerSecond', 'backPressuredTimeMsPerSecond',
  'accumulatedBusyTime', 'accumulatedIdleTime', 'accumulatedBackPressuredTime',
  'checkpointAlignmentTime', 'checkpointStartDelayNanos', 'currentInputWatermark',
] as const

export type TaskMetricName = (typeof TASK_METRIC_NAMES)[number]
