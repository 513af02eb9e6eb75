// The checkpoint configuration of a job, read once from its Configuration and validated.

import { isS3Url } from './storage/s3/s3-location.ts'
import type { Configuration } from '../config/configuration.ts'
import {
  CHECKPOINTING_ALIGNED_TIMEOUT, CHECKPOINTING_INTERVAL, CHECKPOINTING_MAX_CONCURRENT, CHECKPOINTING_MIN_PAUSE, CHECKPOINTING_MODE,
  CHECKPOINTING_RETENTION, CHECKPOINTING_TIMEOUT, CHECKPOINTING_TOLERABLE_FAILURES, CHECKPOINTING_UNALIGNED, CHECKPOINTS_DIR,
  CHECKPOINTS_NUM_RETAINED, CHECKPOINT_STORAGE, WEB_CHECKPOINTS_HISTORY,
} from '../config/options.ts'
import type { RetentionPolicy } from './protocol/retention.ts'
import { UserError } from '../errors.ts'
import { resolve } from 'node:path'

export interface CheckpointOptions {
  /** null: periodic checkpoints are off. */
  readonly intervalMs: number | null
  readonly exactlyOnce: boolean
  readonly timeoutMs: number
  readonly minPauseMs: number
  readonly maxConcurrent: number
  readonly tolerableFailures: number
  readonly retention: RetentionPolicy
  readonly numRetained: number
  readonly unaligned: boolean
  readonly alignedTimeoutMs: number
  readonly storage: 'jobmanager' | 'filesystem'
  /** Absolute, or an s3://bucket/prefix URL; null with jobmanager storage and no directory. */
  readonly dir: string | null
  /** Checkpoints whose statistics are kept in detail (web.checkpoints.history). */
  readonly historySize?: number
}

export function readCheckpointOptions(config: Configuration): CheckpointOptions {
  const dir = config.get(CHECKPOINTS_DIR)
  const storage = config.get(CHECKPOINT_STORAGE) ?? (dir ? 'filesystem' : 'jobmanager')
  if (storage === 'filesystem' && !dir) {
    throw new UserError('WEIR_INVALID_CONFIG', 'execution.checkpointing.storage is filesystem but execution.checkpointing.dir is not set')
  }
  const interval = config.get(CHECKPOINTING_INTERVAL)
  if (interval !== null && interval < 10) throw new UserError('WEIR_INVALID_CONFIG', `execution.checkpointing.interval must be at least 10 ms, got ${interval} ms`)
  return {
    intervalMs: interval,
    exactlyOnce: config.get(CHECKPOINTING_MODE) !== 'AT_LEAST_ONCE',
    timeoutMs: config.get(CHECKPOINTING_TIMEOUT) ?? 600_000,
    minPauseMs: config.get(CHECKPOINTING_MIN_PAUSE) ?? 0,
    maxConcurrent: config.get(CHECKPOINTING_MAX_CONCURRENT),
    tolerableFailures: config.get(CHECKPOINTING_TOLERABLE_FAILURES),
    retention: config.get(CHECKPOINTING_RETENTION) ?? 'NO_EXTERNALIZED_CHECKPOINTS',
    numRetained: config.get(CHECKPOINTS_NUM_RETAINED),
    unaligned: config.get(CHECKPOINTING_UNALIGNED),
    alignedTimeoutMs: config.get(CHECKPOINTING_ALIGNED_TIMEOUT) ?? 0,
    storage,
    dir: dir ? (isS3Url(dir) ? dir : resolve(dir)) : null,
    historySize: config.get(WEB_CHECKPOINTS_HISTORY),
  }
}
