// Directory creation and storage errors: a path that cannot be created fails at once with the
// operating system's reason and the path named (Node's recursive mkdir loops forever on
// /proc/x and says ENOENT on a read-only file system); and no code in src/ creates
// directories any other way.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDir, ensureDirSync } from '../../src/io/directories.ts'
import { StorageError, storageFailure } from '../../src/io/storage-error.ts'
import { writeFramedFile, FileKind } from '../../src/checkpoint/file-format.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-dirs-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

function assertStorageError(e: unknown, errno: string, path: RegExp): true {
  assert.ok(e instanceof StorageError, `expected a StorageError, got ${String(e)}`)
  assert.equal(e.code, 'WEIR_STORAGE_FAILED')
  assert.equal(e.domain, 'external')
  assert.equal(e.errno, errno)
  assert.match(e.message, path)
  assert.match(e.message, new RegExp(`\\(${errno}\\)`))
  return true
}

test('ensureDir creates missing levels and accepts an existing directory', async () => {
  const dir = join(root, 'a', 'b', 'c')
  await ensureDir(dir)
  assert.ok(statSync(dir).isDirectory())
  await ensureDir(dir)
  ensureDirSync(join(dir, 'd', 'e'))
  assert.ok(statSync(join(dir, 'd', 'e')).isDirectory())
})

test('a directory under /proc fails at once with ENOENT instead of looping forever', { timeout: WAIT_MS }, async () => {
  await assert.rejects(ensureDir('/proc/weir-x/savepoint-1'), (e) => assertStorageError(e, 'ENOENT', /\/proc\/weir-x/))
  assert.throws(() => ensureDirSync('/proc/weir-x/y'), (e) => assertStorageError(e, 'ENOENT', /\/proc\/weir-x/))
})

test('a path through a regular file fails with ENOTDIR naming the file', async () => {
  const file = join(root, 'plain-file')
  writeFileSync(file, 'x')
  await assert.rejects(ensureDir(join(file, 'sub', 'dir')), (e) => assertStorageError(e, 'ENOTDIR', /plain-file exists and is not a directory/))
  assert.throws(() => ensureDirSync(join(file, 'sub')), (e) => assertStorageError(e, 'ENOTDIR', /plain-file/))
  await assert.rejects(ensureDir(file), (e) => assertStorageError(e, 'ENOTDIR', /plain-file/))
})

test('writing a checkpoint file where it cannot be written is a StorageError naming the directory', { timeout: WAIT_MS }, async () => {
  await assert.rejects(writeFramedFile('/proc/weir-x/chk-1/_metadata', FileKind.METADATA, new Uint8Array(4)), (e) => assertStorageError(e, 'ENOENT', /\/proc\/weir-x/))
  const file = join(root, 'another-file')
  writeFileSync(file, 'x')
  await assert.rejects(writeFramedFile(join(file, '_metadata'), FileKind.METADATA, new Uint8Array(4)), (e) => assertStorageError(e, 'ENOTDIR', /another-file/))
  assert.equal(existsSync(join(root, 'chk')), false)
})

test('storageFailure spells out the reason of the operating system', () => {
  const rofs = Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })
  const e = storageFailure(rofs, 'write checkpoint file', '/ro/chk-1/_metadata')
  assert.equal(e.message, 'cannot write checkpoint file /ro/chk-1/_metadata: the file system is read-only (EROFS)')
  assert.equal(e.domain, 'external')
  assert.match(storageFailure(Object.assign(new Error('x'), { code: 'ENOSPC' }), 'write', '/f').message, /no space left on the device \(ENOSPC\)/)
  assert.match(storageFailure(Object.assign(new Error('x'), { code: 'EACCES' }), 'write', '/f').message, /permission denied \(EACCES\)/)
})

test('no code in src/ creates a directory except through src/io/directories.ts', () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url))
  const offenders: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.ts') && !path.endsWith(join('io', 'directories.ts'))) {
        readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
          if (/\bmkdir(Sync)?\s*\(|\bmkdirSync\b|\bmkdir\b.*from 'node:fs/.test(line)) offenders.push(`${path}:${i + 1}: ${line.trim()}`)
        })
      }
    }
  }
  walk(src)
  assert.deepEqual(offenders, [], 'use ensureDir / ensureDirSync (src/io/directories.ts): Node\'s recursive mkdir can loop forever')
})
