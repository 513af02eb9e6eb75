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

export type ChannelEvent = EndOfPartition | CheckpointBarrier

export const END_OF_PARTITION: EndOfPartition = { type: 'end-of-partition' }
