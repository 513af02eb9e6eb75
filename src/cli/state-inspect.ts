// `weir state inspect <checkpoint-or-savepoint> [--operator uid] [--key k]`: prints what a
// checkpoint or savepoint holds, as JSON, without writing code (Flink needs its State
// Processor API for this).

import { readMetadata, resolveCheckpointDir } from '../checkpoint/metadata.ts'
import { metadataPath } from '../checkpoint/protocol/paths.ts'
import { readTaskRestore } from '../checkpoint/read-task-state.ts'
import { resolve } from 'node:path'
import type { KeyedStateSnapshot, CanonicalStateEntries } from '../state/keyed-state-backend.ts'
import { entryChunks } from '../state/entry-chunks.ts'
import { UserError } from '../errors.ts'

export interface InspectOptions {
  operator?: string
  key?: string
}

export async function inspectState(path: string, options: InspectOptions): Promise<unknown> {
  const dir = resolveCheckpointDir(path)
  const metadata = await readMetadata(metadataPath(dir))
  const operators: Record<string, unknown> = {}
  const known = metadata.vertices.flatMap((v) => v.uids)
  if (options.operator && !known.includes(options.operator)) {
    throw new UserError('WEIR_INVALID_ARGUMENT', `no operator with uid '${options.operator}' in ${dir}; it has: ${known.join(', ')}`)
  }
  for (const vertex of metadata.vertices) {
    vertex.uids.forEach((uid, position) => {
      if (options.operator && uid !== options.operator) return
      const name = vertex.name.split(' -> ')[position] ?? vertex.name
      const entry: Record<string, unknown> = { name, parallelism: vertex.parallelism, maxParallelism: vertex.maxParallelism }
      const keyed: Record<string, Record<string, unknown>> = {}
      const operatorState: Record<string, unknown> = {}
      const splits: unknown[] = []
      const other: unknown[] = []
      for (const subtask of vertex.subtasks) {
        if (subtask.operatorState?.[uid]) {
          for (const [stateName, s] of Object.entries(subtask.operatorState[uid]!)) {
            const merged = (operatorState[stateName] ??= { mode: s.mode, values: [] as unknown[] }) as { values: unknown[] }
            if (s.mode === 'broadcast' && merged.values.length > 0) continue
            merged.values.push(...s.values)
          }
        }
        if (!subtask.handle) continue
        const handle = subtask.handle.type === 'file' ? { ...subtask.handle, path: resolve(dir, subtask.handle.path) } : subtask.handle
        const restore = readTaskRestore([{ handle, keyed: true, operatorState: true, rescaled: false }])
        const op = restore.operators[uid]
        if (!op) continue
        for (const snapshot of op.keyed) collectKeyed(snapshot, keyed, options.key)
        splits.push(...op.splits)
        other.push(...op.states)
      }
      if (Object.keys(keyed).length > 0) entry.keyedState = keyed
      if (Object.keys(operatorState).length > 0) entry.operatorState = operatorState
      if (splits.length > 0) entry.sourceSplits = splits
      if (other.length > 0) entry.operatorInternalState = other
      operators[uid] = entry
    })
  }
  return { path: dir, kind: metadata.kind, jobId: metadata.jobId, jobName: metadata.jobName, checkpointId: metadata.checkpointId, completedAt: new Date(metadata.completedAt).toISOString(), operators }
}

function collectKeyed(snapshot: KeyedStateSnapshot, into: Record<string, Record<string, unknown>>, onlyKey: string | undefined): void {
  if (snapshot.format !== 'canonical') {
    into[`(${snapshot.format} format)`] = { note: 'this checkpoint stores keyed state incrementally; take a savepoint to inspect it' }
    return
  }
  for (const [name, s] of Object.entries((snapshot as { states: Record<string, CanonicalStateEntries> }).states)) {
    const table = (into[name] ??= {})
    for (const flat of entryChunks(s.entries)) {
      for (let i = 0; i < flat.length; i += 3) {
        const key = typeof flat[i + 1] === 'string' ? (flat[i + 1] as string) : JSON.stringify(flat[i + 1])
        if (onlyKey !== undefined && key !== onlyKey) continue
        table[key] = s.ttl ? { value: (flat[i + 2] as unknown[])[0], lastWrite: new Date((flat[i + 2] as number[])[1]!).toISOString() } : flat[i + 2]
      }
    }
  }
}
