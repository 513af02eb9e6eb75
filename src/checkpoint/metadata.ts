// The `_metadata` of a checkpoint or savepoint: which tasks wrote which state, the split
// enumerators' states, and enough about the job to check a restore. Paths of task state files
// are relative to the checkpoint's directory, so a checkpoint can be moved.

import { readdir, stat } from 'node:fs/promises'
import { join, resolve, basename, dirname } from 'node:path'
import { existsSync, statSync } from 'node:fs'
import { encodeValue, decodeValue } from '../runtime/network/batch-codec.ts'
import { FileKind, readFramedFile, writeFramedFile } from './file-format.ts'
import { METADATA_FILE, metadataPath, parseCheckpointDirName } from './protocol/paths.ts'
import type { StateHandle, TaskAck } from './state-handle.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import type { OperatorStateSnapshot } from '../state/operator-state-store.ts'
import { UserError, WeirError } from '../errors.ts'

export interface SubtaskStateEntry {
  readonly subtask: number
  readonly handle: StateHandle | null
  readonly stateSize: number
  /** Operator (list, union, broadcast) state by operator uid. */
  readonly operatorState?: Record<string, OperatorStateSnapshot>
  /** uids of the operators that stored any state in this subtask. */
  readonly stateUids?: string[]
}

export interface VertexStateEntry {
  readonly vertex: number
  /** uids of the chained operators, head first. */
  readonly uids: string[]
  readonly name: string
  readonly parallelism: number
  readonly maxParallelism: number
  readonly subtasks: SubtaskStateEntry[]
}

export interface CheckpointMetadata {
  readonly version: 1
  readonly kind: 'checkpoint' | 'savepoint'
  readonly jobId: string
  readonly jobName: string
  readonly checkpointId: number
  readonly triggeredAt: number
  readonly completedAt: number
  readonly vertices: VertexStateEntry[]
  /** Split enumerator state per source uid. */
  readonly coordinators: Record<string, unknown>
}

/** The state of every subtask of every vertex, from the tasks' acknowledgements (a task that stored nothing has a null handle). */
export function vertexStateEntries(graph: JobGraph, acks: ReadonlyMap<string, TaskAck>): VertexStateEntry[] {
  return graph.vertices.map((v) => ({
    vertex: v.id, uids: v.uids, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism,
    subtasks: Array.from({ length: v.parallelism }, (_, i) => {
      const ack = acks.get(`${v.id}/${i}`)
      return { subtask: i, handle: ack?.handle ?? null, stateSize: ack?.stateSize ?? 0, ...(ack?.operatorState ? { operatorState: ack.operatorState } : {}), ...(ack?.stateUids ? { stateUids: ack.stateUids } : {}) }
    }),
  }))
}

export async function writeMetadata(dir: string, metadata: CheckpointMetadata): Promise<number> {
  return writeFramedFile(metadataPath(dir), FileKind.METADATA, encodeValue(metadata))
}

export async function readMetadata(path: string): Promise<CheckpointMetadata> {
  const payload = await readFramedFile(path, FileKind.METADATA)
  let metadata: CheckpointMetadata
  try {
    metadata = decodeValue<CheckpointMetadata>(payload)
  } catch (e) {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${path} is damaged: its content cannot be decoded (${(e as Error).message})`)
  }
  if (metadata.version !== 1) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${path} has metadata version ${String(metadata.version)}, which this Weir cannot read`)
  return metadata
}

/** A checkpoint or savepoint directory (or its _metadata file) given by a user. */
export function resolveCheckpointDir(pathOrDir: string): string {
  const abs = resolve(pathOrDir)
  if (!existsSync(abs)) throw new UserError('WEIR_RESTORE_FAILED', `no checkpoint or savepoint at ${pathOrDir}`)
  const dir = statSync(abs).isDirectory() ? abs : basename(abs) === METADATA_FILE ? resolve(abs, '..') : null
  if (dir === null) throw new UserError('WEIR_RESTORE_FAILED', `${pathOrDir} is neither a checkpoint directory nor a _metadata file`)
  if (!existsSync(metadataPath(dir))) {
    throw new UserError('WEIR_RESTORE_FAILED', `${dir} has no ${METADATA_FILE}: the checkpoint never completed, or this is not a checkpoint directory`)
  }
  return dir
}

export interface RetainedCheckpoint {
  readonly dir: string
  readonly jobId: string
  readonly id: number
  /** Completion time from the metadata, or null when the metadata cannot be read. */
  readonly completedAt: number | null
  /** From trigger to completion, from the metadata (null when it cannot be read). */
  readonly durationMs: number | null
  readonly size: number
  readonly status: 'COMPLETED' | 'INCOMPLETE' | 'DAMAGED'
  readonly problem?: string
}

/** Every chk-<n> directory under a checkpoints directory (all jobs), newest last. */
export async function listCheckpoints(baseDir: string): Promise<RetainedCheckpoint[]> {
  const out: RetainedCheckpoint[] = []
  let jobs: string[]
  try {
    jobs = await readdir(baseDir)
  } catch (e) {
    throw new UserError('WEIR_RESTORE_FAILED', `cannot read checkpoint directory ${baseDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  for (const jobId of jobs) {
    const jobPath = join(baseDir, jobId)
    if (!(await stat(jobPath)).isDirectory()) continue
    for (const name of await readdir(jobPath)) {
      const id = parseCheckpointDirName(name)
      if (id === null) continue
      const dir = join(jobPath, name)
      const size = await directorySize(dir)
      if (!existsSync(metadataPath(dir))) {
        out.push({ dir, jobId, id, completedAt: null, durationMs: null, size, status: 'INCOMPLETE' })
        continue
      }
      try {
        const m = await readMetadata(metadataPath(dir))
        out.push({ dir, jobId, id, completedAt: m.completedAt, durationMs: m.completedAt - m.triggeredAt, size, status: 'COMPLETED' })
      } catch (e) {
        out.push({ dir, jobId, id, completedAt: null, durationMs: null, size, status: 'DAMAGED', problem: (e as Error).message })
      }
    }
  }
  return out.sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0) || a.id - b.id)
}

/**
 * The newest completed checkpoint under a checkpoints directory. If the newest one with a
 * `_metadata` is damaged, this fails naming it rather than falling back to an older one: a
 * transactional sink may already have committed output past the older checkpoint.
 */
export async function findLatestCheckpoint(baseDir: string, onWarning: (line: string) => void = () => {}): Promise<string> {
  const finalized = (await listCheckpoints(baseDir)).filter((c) => c.status !== 'INCOMPLETE')
  let newest: RetainedCheckpoint | null = null
  let newestTime = -Infinity
  for (const c of finalized) {
    const t = (await stat(metadataPath(c.dir))).mtimeMs
    if (t > newestTime || (t === newestTime && newest !== null && c.id > newest.id)) {
      newest = c
      newestTime = t
    }
  }
  if (!newest) throw new UserError('WEIR_RESTORE_FAILED', `no completed checkpoint under ${baseDir}`)
  if (newest.status === 'DAMAGED') {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `the newest checkpoint under ${baseDir} is damaged (${newest.problem}); not falling back to an older one, since output after it may already be committed. Resume from an older one explicitly with --from-checkpoint <dir> if that is what you want`, { domain: 'external' })
  }
  await warnAboutSkipped(newest, onWarning)
  return newest.dir
}

/**
 * A newer chk-<n> that holds task state but no `_metadata`: it never completed, or its
 * `_metadata` was lost (deleted, a partial copy). Resuming from the older one is right in the
 * first case and repeats committed output in the second, so the user is told. Newer means a
 * higher id in the chosen checkpoint's job directory, or, in another job's directory (a resumed
 * job writes under its own job id), task state written after the chosen `_metadata`.
 */
async function warnAboutSkipped(chosen: RetainedCheckpoint, onWarning: (line: string) => void): Promise<void> {
  const baseDir = dirname(dirname(chosen.dir))
  const chosenTime = (await stat(metadataPath(chosen.dir))).mtimeMs
  const skipped: { dir: string; files: number }[] = []
  for (const jobId of await readdir(baseDir).catch(() => [] as string[])) {
    const jobPath = join(baseDir, jobId)
    const sameJob = jobPath === dirname(chosen.dir)
    for (const name of await readdir(jobPath).catch(() => [] as string[])) {
      const id = parseCheckpointDirName(name)
      if (id === null || (sameJob && id <= chosen.id)) continue
      const dir = join(jobPath, name)
      if (existsSync(metadataPath(dir))) continue
      const taskFiles = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.state'))
      if (taskFiles.length === 0) continue
      if (!sameJob) {
        let newest = -Infinity
        for (const f of taskFiles) newest = Math.max(newest, (await stat(join(dir, f)).catch(() => ({ mtimeMs: -Infinity }))).mtimeMs)
        if (newest <= chosenTime) continue
      }
      skipped.push({ dir, files: taskFiles.length })
    }
  }
  if (skipped.length === 0) return
  const sinks = `transactional sinks may have committed output after checkpoint ${chosen.id}: those that record what they committed (the file sink; PostgreSQL exactly-once and write-ahead) then refuse this restore, others write that output again`
  if (skipped.length === 1) {
    const [{ dir, files }] = skipped as [{ dir: string; files: number }]
    onWarning(`Warning: skipping ${dir}: it holds task state (${files} file(s)) but no ${METADATA_FILE}, so it never completed or its ${METADATA_FILE} was lost; resuming from the older ${chosen.dir}. If it had completed, ${sinks}`)
  } else {
    onWarning(`Warning: skipping ${skipped.length} newer checkpoint directories that hold task state but no ${METADATA_FILE} (${skipped.map((d) => d.dir).join(', ')}): they never completed or their ${METADATA_FILE} was lost; resuming from the older ${chosen.dir}. If one had completed, ${sinks}`)
  }
}

async function directorySize(dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) {
    const s = await stat(join(dir, name))
    total += s.isDirectory() ? await directorySize(join(dir, name)) : s.size
  }
  return total
}
