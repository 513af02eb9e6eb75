// The state of a task's operator chain at a checkpoint and on a restore: the synchronous
// capture (source splits, keyed backends pinned, operator snapshots), the asynchronous phase
// that turns the capture into the task's snapshot, and the restore of a snapshot into a new
// attempt's chain, including the in-flight records of an unaligned checkpoint.
//
// The task decides when these run (barrier alignment, stop with savepoint, the final
// checkpoint); this file only knows what a chain's state consists of.

import type { SourceReader } from '../../api/source.ts'
import type { StreamOperator } from '../../operators/operator.ts'
import type { InputChannel } from '../network/channels.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import { WATERMARK_TAG, type CheckpointBarrier } from '../network/events.ts'
import type { KeyedStateBackend, SnapshotCapture } from '../../state/keyed-state-backend.ts'
import type { StateShape, StateShapeRegistry } from '../../state/state-shapes.ts'
import type { KeyGroupRange } from '../../state/key-groups.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import type { InternalTimerService } from './internal-timer-service.ts'
import type { TaskRestore, TaskSnapshot, OperatorSnapshot, ChannelState } from './task-snapshot.ts'

/** A keyed operator of the chain with its own backend and timers. */
export interface KeyedOperatorRuntime {
  readonly uid: string
  readonly operator: StreamOperator<unknown, unknown>
  readonly backend: KeyedStateBackend
  readonly timers: InternalTimerService
}

/** The parts of a chain that hold state. */
export interface ChainParts {
  readonly reader: SourceReader<unknown, unknown> | null
  readonly sourceUid: string | null
  readonly operators: readonly StreamOperator<unknown, unknown>[]
  /** uids parallel to `operators`. */
  readonly operatorUids: readonly string[]
  readonly keyed: readonly KeyedOperatorRuntime[]
  readonly stateShapes: StateShapeRegistry
}

/** What the synchronous phase took; nothing here is serialized yet. */
export interface ChainCapture {
  readonly splits: unknown[] | null
  readonly keyed: ReadonlyArray<{ readonly uid: string; readonly backend: KeyedStateBackend; readonly capture: SnapshotCapture; readonly shapes: StateShape[] }>
  /** Per operator, parallel to `operators`: its snapshot (a sink's pre-commit may be a promise). */
  readonly states: unknown[]
  readonly operatorState: Record<string, OperatorStateSnapshot> | undefined
}

/** The synchronous phase: pins every piece of the chain's state for checkpoint `barrier.id`. */
export function captureChain(chain: ChainParts, barrier: CheckpointBarrier): ChainCapture {
  const splits = chain.reader ? chain.reader.snapshotState(barrier.id) : null
  for (const op of chain.operators) op.prepareSnapshot?.(barrier.id, barrier.timestamp)
  const keyed = chain.keyed.map((k) => ({
    uid: k.uid,
    backend: k.backend,
    capture: k.backend.captureSnapshot(barrier.id, { savepoint: barrier.isSavepoint }),
    shapes: chain.stateShapes.shapesOf(k.uid),
  }))
  const states = chain.operators.map((op) => op.snapshotState?.(barrier.id))
  let operatorState: Record<string, OperatorStateSnapshot> | undefined
  chain.operators.forEach((op, i) => {
    const s = op.snapshotOperatorState?.()
    if (s) (operatorState ??= {})[chain.operatorUids[i]!] = s
  })
  return { splits, keyed, states, operatorState }
}

/** The asynchronous phase: the task's snapshot from a capture (and, unaligned, its channel state). */
export async function materializeChain(chain: ChainParts, capture: ChainCapture, channels: ChannelState | null): Promise<TaskSnapshot> {
  const operators: Record<string, OperatorSnapshot> = {}
  const entry = (uid: string) => (operators[uid] ??= {})
  if (chain.sourceUid !== null && capture.splits !== null) entry(chain.sourceUid).splits = capture.splits
  for (const c of capture.keyed) {
    entry(c.uid).keyed = await c.backend.materializeSnapshot(c.capture)
    if (c.shapes.length > 0) entry(c.uid).stateShapes = c.shapes
  }
  for (let i = 0; i < capture.states.length; i++) {
    // A sink's pre-commit may still be in flight: the acknowledgement waits for it.
    const s = await capture.states[i]
    if (s !== undefined) entry(chain.operatorUids[i]!).state = s
  }
  return channels ? { version: 1, operators, channels: { inputs: channels.inputs, outputs: channels.outputs } } : { version: 1, operators }
}

/** The operators of the chain that store anything: they need a home on a restore. */
export function statefulUids(chain: ChainParts, capture: ChainCapture): string[] {
  const uids = new Set(capture.keyed.map((k) => k.uid))
  if (capture.splits !== null && chain.sourceUid !== null) uids.add(chain.sourceUid)
  capture.states.forEach((s, i) => {
    if (s !== undefined) uids.add(chain.operatorUids[i]!)
  })
  for (const uid of Object.keys(capture.operatorState ?? {})) uids.add(uid)
  return [...uids]
}

/** Restores keyed state (this subtask's key groups), timers, operator state and source splits. */
export function restoreChain(chain: ChainParts, restore: TaskRestore | null, range: KeyGroupRange): void {
  if (!restore) {
    for (const op of chain.operators) op.initializeState?.([], false)
    return
  }
  for (const k of chain.keyed) {
    const r = restore.operators[k.uid]
    if (!r) continue
    chain.stateShapes.addRestored(k.uid, r.shapes)
    for (const snapshot of r.keyed) k.backend.restore(snapshot, range)
    // Timers are keyed state: the backend restored this subtask's key groups of them.
    k.timers.restoreTimers()
  }
  chain.operators.forEach((op, i) => {
    const uid = chain.operatorUids[i]!
    op.initializeState?.(restore.operators[uid]?.states ?? [], true, restore.operatorState[uid] ?? {})
  })
  if (chain.reader && chain.sourceUid !== null) {
    const splits = restore.operators[chain.sourceUid]?.splits ?? []
    if (splits.length > 0) chain.reader.addSplits(splits)
  }
}

/** In-flight records of an unaligned checkpoint: inputs are processed first, outputs sent first. */
export function restoreChannelState(inputs: readonly InputChannel[], writers: readonly RecordWriter[], channels: ChannelState): void {
  for (const input of inputs) {
    const records = channels.inputs[input.id]
    if (records) input.prepend(records)
  }
  for (const w of writers) {
    for (const c of w.channels) {
      const records = channels.outputs[c.id]
      if (!records) continue
      for (let i = 0; i < records.length; i += 2) {
        if (records[i + 1] === WATERMARK_TAG) c.addWatermark(records[i] as number)
        else c.add(records[i], records[i + 1] as number)
      }
    }
  }
}
