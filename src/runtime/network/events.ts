// Events that travel in the data channels, in order with the records: they never overtake
// the records sent before them (an unaligned barrier is the one exception, by design).

export interface EndOfPartition {
  readonly type: 'end-of-partition'
}

/** Checkpoint barrier n: every record before it belongs to checkpoint n, every record after it does not. */
export interface CheckpointBarrier {
  readonly type: 'barrier'
  readonly id: number
  readonly timestamp: number
  readonly isSavepoint: boolean
  /** Unaligned: the barrier overtakes buffered records, which become part of the checkpoint. */
  readonly unaligned: boolean
  /** A savepoint's directory: tasks write their state there (self-contained, canonical format). */
  readonly savepointDir?: string
  /** Stop with savepoint: sources emit nothing after this barrier. */
  readonly stop?: boolean
}

/**
 * A channel's upstream became idle (no watermarks for now: left out of the downstream minimum) or
 * active again (Flink's WatermarkStatus). Watermarks themselves travel inside the batches, as a
 * pair (timestamp, WATERMARK_TAG) in the place of (record, timestamp), so that they keep their
 * exact position among the records at no cost per record.
 */
export interface WatermarkStatus {
  readonly type: 'watermark-status'
  readonly idle: boolean
}

export type ChannelEvent = EndOfPartition | CheckpointBarrier | WatermarkStatus

/**
 * Batches are flat pairs [record, timestamp, record, timestamp, ...]; a pair whose second
 * element is this tag is a watermark, its first element the watermark's time.
 */
export const WATERMARK_TAG = '\u0000wm'

/** A record without a timestamp (Flink's Long.MIN_VALUE marker). */
export const NO_TIMESTAMP = -Infinity
/** The watermark a bounded input ends with: every event-time timer and window fires. */
export const MAX_WATERMARK = Infinity
/** The watermark before any was seen. */
export const MIN_WATERMARK = -Infinity

export const WATERMARK_IDLE: WatermarkStatus = { type: 'watermark-status', idle: true }
export const WATERMARK_ACTIVE: WatermarkStatus = { type: 'watermark-status', idle: false }

export const END_OF_PARTITION: EndOfPartition = { type: 'end-of-partition' }
