// Creating directories without Node's `mkdir(..., { recursive: true })`. On Node 20 the
// recursive form loops forever where a parent exists but the child cannot be made in it
// (`/proc/x`: the kernel answers ENOENT, Node retries the parent, which exists, and tries
// again), which wedged a savepoint and with it every later checkpoint; and on a read-only file
// system it reports ENOENT instead of EROFS. Here each level is created on its own, at most
// once, so every path ends in a directory or in a StorageError with the real reason.
// Every directory Weir creates goes through these two functions (a test checks src/).

import { mkdir, stat } from 'node:fs/promises'
import { mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { storageFailure, StorageError } from './storage-error.ts'

/** Creates `dir` and its missing parents; resolves once it is a directory. */
export async function ensureDir(dir: string): Promise<void> {
  const path = resolve(dir)
  const missing = await missingLevels(path)
  for (const level of missing) {
    try {
      await mkdir(level)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await isDirectory(level))) continue
      throw storageFailure(e, 'create directory', level)
    }
  }
}

/** The synchronous form of ensureDir, for code that runs on a task's thread turn. */
export function ensureDirSync(dir: string): void {
  const path = resolve(dir)
  const missing: string[] = []
  for (let p = path; ; p = dirname(p)) {
    const kind = kindOfSync(p)
    if (kind === 'dir') break
    if (kind === 'other') throw notADirectory(p, path)
    missing.unshift(p)
    if (dirname(p) === p) break
  }
  for (const level of missing) {
    try {
      mkdirSync(level)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && kindOfSync(level) === 'dir') continue
      throw storageFailure(e, 'create directory', level)
    }
  }
}

/** The levels of `path` that do not exist yet, outermost first. */
async function missingLevels(path: string): Promise<string[]> {
  const missing: string[] = []
  for (let p = path; ; p = dirname(p)) {
    const kind = await kindOf(p)
    if (kind === 'dir') break
    if (kind === 'other') throw notADirectory(p, path)
    missing.unshift(p)
    if (dirname(p) === p) break
  }
  return missing
}

function notADirectory(existing: string, wanted: string): StorageError {
  return new StorageError(`cannot create directory ${wanted}: ${existing} exists and is not a directory (ENOTDIR)`, wanted, 'ENOTDIR')
}

type Kind = 'dir' | 'other' | 'missing'

async function kindOf(p: string): Promise<Kind> {
  try {
    return (await stat(p)).isDirectory() ? 'dir' : 'other'
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'missing'
    if (code === 'ENOTDIR') return 'missing' // a parent is a file: found as 'other' one level up
    throw storageFailure(e, 'inspect', p)
  }
}

function kindOfSync(p: string): Kind {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'other'
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'missing'
    if (code === 'ENOTDIR') return 'missing' // a parent is a file: found as 'other' one level up
    throw storageFailure(e, 'inspect', p)
  }
}

async function isDirectory(p: string): Promise<boolean> {
  return (await kindOf(p)) === 'dir'
}
