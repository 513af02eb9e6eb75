// Which stored task states each new subtask reads on a restore, at the same or another
// parallelism. Keyed state goes by key group: a new subtask reads every old subtask whose
// key-group range overlaps its own (and keeps only its key groups). Operator state and source
// splits of old subtask j go to new subtask j mod p. State is matched to operators by uid;
// stored state whose uid no operator has fails the restore unless allowNonRestoredState.

import { resolve, isAbsolute } from 'node:path'
import type { CheckpointMetadata } from './metadata.ts'
import type { StateHandle } from './state-handle.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import { keyGroupRangeForOperator } from '../state/key-groups.ts'
import { UserError } from '../errors.ts'
import { redistributeOperatorState, type OperatorStateSnapshot } from '../state/operator-state-store.ts'

export interface RestoreSource {
  /** Inline bytes, or an absolute file path. */
  readonly handle: StateHandle
  /** Read keyed state and timers from it (filtered to the subtask's key groups). */
  readonly keyed: boolean
  /** Read operator state and source splits from it. */
  readonly operatorState: boolean
  /** The parallelism changed: in-flight records of an unaligned checkpoint cannot be placed. */
  readonly rescaled: boolean
}

export interface RestorePlan {
  readonly checkpointId: number
  /** Sources per task, by `${vertex}/${subtask}`. */
  readonly tasks: Record<string, RestoreSource[]>
  /** Split enumerator state per source uid. */
  readonly coordinators: Record<string, unknown>
  /** Each task's share of operator (list, union, broadcast) state, by `${vertex}/${subtask}` then uid. */
  readonly operatorState: Record<string, Record<string, OperatorStateSnapshot>>
}

export function planRestore(metadata: CheckpointMetadata, checkpointDir: string | null, graph: JobGraph, allowNonRestoredState: boolean): RestorePlan {
  const tasks: Record<string, RestoreSource[]> = {}
  const operatorState: RestorePlan['operatorState'] = {}
  const uidToVertex = new Map<string, number>()
  for (const v of graph.vertices) for (const uid of v.uids) uidToVertex.set(uid, v.id)

  for (const old of metadata.vertices) {
    const matched = old.uids.filter((uid) => uidToVertex.has(uid))
    const unmatched = old.uids.filter((uid) => !uidToVertex.has(uid))
    // Only operators that stored something block a restore (older metadata without stateUids: any state in the task counts).
    const stateful = unmatched.filter((uid) => old.subtasks.some((s) => (s.stateUids ? s.stateUids.includes(uid) : s.handle !== null && s.stateSize > 0)))
    if (stateful.length > 0 && !allowNonRestoredState) {
      const uid = stateful[0]!
      const name = old.name.split(' -> ')[old.uids.indexOf(uid)] ?? old.name
      throw new UserError('WEIR_RESTORE_FAILED', `the checkpoint holds state of operator uid '${uid}' ('${name}'), which the job no longer has; give that operator back its uid, or pass --allow-non-restored-state (-n) to drop its state`)
    }
    for (const uid of matched) {
      const vertex = graph.vertices[uidToVertex.get(uid)!]!
      const old_ = old.subtasks.map((s) => s.operatorState?.[uid])
      if (old_.every((s) => s === undefined)) continue
      for (let i = 0; i < vertex.parallelism; i++) {
        const share = redistributeOperatorState(old_, i, vertex.parallelism)
        // At the same parallelism a split list stays where it was, as in Flink.
        if (vertex.parallelism === old.parallelism) {
          for (const [name, entry] of Object.entries(share)) if (entry.mode === 'split') share[name] = old_[i]?.[name] ?? { mode: 'split', values: [] }
        }
        ;(operatorState[`${vertex.id}/${i}`] ??= {})[uid] = share
      }
    }
    const targets = new Set(matched.map((uid) => uidToVertex.get(uid)!))
    for (const vertexId of targets) {
      const vertex = graph.vertices[vertexId]!
      if (vertex.maxParallelism !== old.maxParallelism) {
        throw new UserError('WEIR_RESTORE_FAILED', `operator '${vertex.name}' has max parallelism ${vertex.maxParallelism}, but its state was written with ${old.maxParallelism}; the max parallelism cannot change across a restore`)
      }
      for (let i = 0; i < vertex.parallelism; i++) {
        const mine = keyGroupRangeForOperator(vertex.maxParallelism, vertex.parallelism, i)
        const sources: RestoreSource[] = []
        for (const s of old.subtasks) {
          if (s.handle === null) continue
          const theirs = keyGroupRangeForOperator(old.maxParallelism, old.parallelism, s.subtask)
          const keyed = theirs.start <= mine.end && mine.start <= theirs.end
          const operatorState = s.subtask % vertex.parallelism === i
          if (keyed || operatorState) sources.push({ handle: absolute(s.handle, checkpointDir), keyed, operatorState, rescaled: old.parallelism !== vertex.parallelism })
        }
        const key = `${vertexId}/${i}`
        tasks[key] = [...(tasks[key] ?? []), ...sources]
      }
    }
  }
  const coordinators: Record<string, unknown> = {}
  for (const [uid, state] of Object.entries(metadata.coordinators)) {
    if (uidToVertex.has(uid)) coordinators[uid] = state
    else if (!allowNonRestoredState) throw new UserError('WEIR_RESTORE_FAILED', `the checkpoint holds the split enumerator state of source uid '${uid}', which the job no longer has; pass --allow-non-restored-state (-n) to drop it`)
  }
  return { checkpointId: metadata.checkpointId, tasks, coordinators, operatorState }
}

function absolute(handle: StateHandle, dir: string | null): StateHandle {
  if (handle.type !== 'file' || isAbsolute(handle.path)) return handle
  if (dir === null) throw new UserError('WEIR_RESTORE_FAILED', `state file ${handle.path} has a relative path but the checkpoint has no directory`)
  return { ...handle, path: resolve(dir, handle.path) }
}
