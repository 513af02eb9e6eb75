// The source interface, in Flink's split-enumerator / source-reader shape. Work is cut into
// splits; an enumerator (on the JobManager) hands splits to readers (one per subtask) when
// they ask; a reader emits the records of its splits. Reader positions and unassigned splits
// are what a checkpoint stores, so that a restart rewinds the source.

export type Boundedness = 'bounded' | 'continuous'

/** What pollNext reports back to the task. */
export const InputStatus = {
  /** More records can be read right away: call pollNext again. */
  MORE_AVAILABLE: 0,
  /** Nothing to read now: the reader calls signalAvailable() when it has data again. */
  NOTHING_AVAILABLE: 1,
  /** This reader is done for good. */
  END_OF_INPUT: 2,
} as const
export type InputStatus = (typeof InputStatus)[keyof typeof InputStatus]

/**
 * Where a reader emits. `timestamp` is the record's event time as the source knows it (a
 * message's broker time, say); a WatermarkStrategy's assigner may replace it. A reader that
 * holds several splits at once can emit each split's records through the split's own output,
 * so that watermarks are generated per split and the reader's watermark is their minimum
 * (Flink's split-aware watermarks); release it when the split is finished.
 */
export interface ReaderOutput<T> {
  collect(record: T, timestamp?: number): void
  /** The runtime's output always has these; a test's plain collector may not. */
  createOutputForSplit?(splitId: string): ReaderOutput<T>
  releaseOutputForSplit?(splitId: string): void
}

export interface SourceReaderContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly attemptNumber: number
  /** Asks the enumerator for another split; the answer comes through addSplits or notifyNoMoreSplits. */
  sendSplitRequest(): void
  /** Wakes the task when a reader that returned NOTHING_AVAILABLE has data again. */
  signalAvailable(): void
}

export interface SourceReader<T, Split> {
  start(): void
  /**
   * Emits a bounded amount of records (a few thousand at most) and says whether more are
   * ready. Called on the task thread; must not block.
   */
  pollNext(output: ReaderOutput<T>): InputStatus
  addSplits(splits: Split[]): void
  notifyNoMoreSplits(): void
  /** The splits this reader holds, with their current positions. */
  snapshotState(checkpointId: number): Split[]
  close(): void
}

export interface SplitEnumeratorContext<Split> {
  readonly parallelism: number
  assignSplit(split: Split, subtaskIndex: number): void
  /** Several splits to one reader in one message, so that it starts reading them together (Flink's assignSplits). */
  assignSplits(splits: readonly Split[], subtaskIndex: number): void
  signalNoMoreSplits(subtaskIndex: number): void
}

export interface SplitEnumerator<Split, EnumState> {
  start(): void | Promise<void>
  handleSplitRequest(subtaskIndex: number): void
  /** Splits given back by a failed reader, to hand out again. */
  addSplitsBack(splits: Split[], subtaskIndex: number): void
  addReader(subtaskIndex: number): void
  snapshotState(checkpointId: number): EnumState
  close(): void
}

export interface SourceContextInfo {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly attemptNumber: number
}

export interface Source<T, Split = unknown, EnumState = unknown> {
  readonly boundedness: Boundedness
  /** False for sources that cannot rewind (a socket); recovery then loses what arrived meanwhile. */
  readonly rewindable?: boolean
  /** The largest parallelism this source supports (1 for a socket or a collection). */
  readonly maxParallelism?: number
  createEnumerator(ctx: SplitEnumeratorContext<Split>, restored?: EnumState): SplitEnumerator<Split, EnumState>
  createReader(ctx: SourceReaderContext): SourceReader<T, Split>
}
