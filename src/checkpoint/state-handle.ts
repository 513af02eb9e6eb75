// State handles: how an acknowledgement points at the state a task wrote. With filesystem
// storage a handle names a file (with its size and checksum); with jobmanager storage the
// bytes travel inline to the JobManager.

export type StateHandle =
  | { readonly type: 'file'; readonly path: string; readonly size: number }
  | { readonly type: 'inline'; readonly bytes: Uint8Array }

/** The state a task acknowledges for a checkpoint. */
export interface TaskAck {
  readonly vertex: number
  readonly subtask: number
  readonly handle: StateHandle | null
  /** Bytes of state (before framing) including shared files it references: Flink's full state size. */
  readonly stateSize: number
  /** Bytes written for this checkpoint (incremental: without shared files of earlier ones). */
  readonly checkpointedSize?: number
  /** Bytes of in-flight records stored (unaligned checkpoints). */
  readonly persistedBytes?: number
  /** From the trigger until the first barrier reached the task. */
  readonly startDelayMs?: number
  readonly unaligned?: boolean
  /** Wall-clock time of the acknowledgement (ms since the epoch). */
  readonly ackAt?: number
  /** Time from the barrier's arrival until the task's snapshot finished, and alignment time. */
  readonly syncMs: number
  readonly asyncMs: number
  readonly alignmentMs: number
  /** Operator (list, union, broadcast) state by operator uid: small, kept in the metadata itself. */
  readonly operatorState?: Record<string, import('../state/operator-state-store.ts').OperatorStateSnapshot>
  /** uids of the operators that stored any state. */
  readonly stateUids?: string[]
  /** Shared files (incremental checkpoints) the task's state references. */
  readonly sharedFiles?: string[]
}
