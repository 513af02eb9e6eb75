// Where the LMDB backend keeps its working databases, and how they are cleaned up. One
// directory per backend: <localDir or the temp dir>/weir-lmdb-<job>-<operator uid>-<subtask>-
// <attempt>. A backend removes its own in dispose(); a worker that is terminated runs no code,
// so a new attempt also removes the directories of earlier attempts of its subtask, and
// removeJobWorkingDirs removes everything a job left (for the JobManager at the end of a job).
// No native code here: the JobManager can use it without loading LMDB.

import { readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PREFIX = 'weir-lmdb-'

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)
}

export function workingDirFor(localDir: string | null, jobId: string, operatorUid: string, subtask: number, attempt: number): string {
  return join(localDir ?? tmpdir(), `${PREFIX}${safe(jobId)}-${safe(operatorUid)}-${subtask}-${attempt}`)
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Removes the working directories of attempts before `attempt` of this subtask; returns them. */
export function removeEarlierAttempts(localDir: string | null, jobId: string, operatorUid: string, subtask: number, attempt: number): string[] {
  const dir = localDir ?? tmpdir()
  const prefix = `${PREFIX}${safe(jobId)}-${safe(operatorUid)}-${subtask}-`
  const removed: string[] = []
  for (const name of list(dir)) {
    if (!name.startsWith(prefix)) continue
    const rest = name.slice(prefix.length)
    if (!/^\d+$/.test(rest) || Number(rest) >= attempt) continue
    rmSync(join(dir, name), { recursive: true, force: true })
    removed.push(join(dir, name))
  }
  return removed
}

/** Removes every working directory of a job (state.backend.lmdb.localdir, or null: the temp dir); returns them. */
export function removeJobWorkingDirs(localDir: string | null, jobId: string): string[] {
  const dir = localDir ?? tmpdir()
  const prefix = `${PREFIX}${safe(jobId)}-`
  const removed: string[] = []
  for (const name of list(dir)) {
    if (!name.startsWith(prefix)) continue
    rmSync(join(dir, name), { recursive: true, force: true })
    removed.push(join(dir, name))
  }
  return removed
}
