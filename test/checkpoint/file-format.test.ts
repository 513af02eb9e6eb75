import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FORMAT_VERSION, FileKind, frame, readFramedFile, unframe, writeFramedChunks, writeFramedFile } from '../../src/checkpoint/file-format.ts'
import { isWeirError } from '../../src/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-file-format-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

const payload = new TextEncoder().encode('the state of task 0/1, with some bytes: \u00e9\u4e2d')

/** Asserts that `fn` throws WEIR_CHECKPOINT_CORRUPT whose message names `path` and matches `pattern`. */
async function rejectsCorrupt(fn: () => unknown, path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(async () => fn(), (e: unknown) => {
    assert.ok(isWeirError(e), `expected a WeirError, got ${String(e)}`)
    assert.equal(e.code, 'WEIR_CHECKPOINT_CORRUPT')
    assert.ok(e.message.includes(path), `message does not name ${path}: ${e.message}`)
    assert.match(e.message, pattern)
    return true
  })
}

test('a framed payload reads back byte for byte, from memory and from a file', async () => {
  const bytes = frame(FileKind.TASK_STATE, payload)
  assert.deepEqual(new Uint8Array(unframe(bytes, FileKind.TASK_STATE, 'x')), payload)
  const path = join(root, 'round-trip', 'task.state')
  const written = await writeFramedFile(path, FileKind.TASK_STATE, payload)
  assert.equal(written, bytes.length)
  assert.equal(readFileSync(path).length, written)
  assert.deepEqual(new Uint8Array(await readFramedFile(path, FileKind.TASK_STATE)), payload)
})

test('a payload of more chunks than one writev takes, some empty, reads back as their concatenation', async () => {
  const chunks: Uint8Array[] = []
  for (let i = 0; i < 2500; i++) chunks.push(i % 7 === 0 ? new Uint8Array(0) : Uint8Array.from({ length: 1 + (i % 13) }, (_v, j) => (i + j) & 0xff))
  const whole = Buffer.concat(chunks)
  const path = join(root, 'chunks', 'task.state')
  const written = await writeFramedChunks(path, FileKind.TASK_STATE, chunks)
  assert.equal(written, frame(FileKind.TASK_STATE, whole).length)
  assert.deepEqual(new Uint8Array(await readFramedFile(path, FileKind.TASK_STATE)), new Uint8Array(whole))
})

test('an empty payload round-trips', async () => {
  const path = join(root, 'empty.state')
  await writeFramedFile(path, FileKind.METADATA, new Uint8Array(0))
  assert.equal((await readFramedFile(path, FileKind.METADATA)).length, 0)
})

async function damaged(name: string, mutate: (bytes: Buffer) => Buffer): Promise<string> {
  const path = join(root, name)
  await writeFramedFile(path, FileKind.TASK_STATE, payload)
  writeFileSync(path, mutate(readFileSync(path)))
  return path
}

test('a truncated file is rejected as damaged, naming the file', async () => {
  const path = await damaged('truncated.state', (b) => b.subarray(0, b.length - 3))
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /damaged.*truncated or extended/)
})

test('a file cut inside its header is rejected as damaged, naming the file', async () => {
  const path = await damaged('header-only.state', (b) => b.subarray(0, 10))
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /damaged.*10 bytes long, shorter than its header/)
})

test('an extended file is rejected as damaged, naming the file', async () => {
  const path = await damaged('extended.state', (b) => Buffer.concat([b, Buffer.from([0])]))
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /damaged.*truncated or extended/)
})

test('one flipped payload byte is caught by the checksum, naming the file', async () => {
  const path = await damaged('flipped.state', (b) => {
    b[b.length - 5]! ^= 0x01
    return b
  })
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /damaged.*checksum mismatch/)
})

test('a wrong magic number is rejected, naming the file', async () => {
  const path = await damaged('magic.state', (b) => {
    b[0] = 0x00
    return b
  })
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /damaged.*Weir file marker/)
})

test('a newer format version is rejected with a message that says the version', async () => {
  const path = await damaged('newer.state', (b) => {
    b.writeUInt16BE(FORMAT_VERSION + 1, 4)
    return b
  })
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, new RegExp(`format version ${FORMAT_VERSION + 1}; this Weir reads up to version ${FORMAT_VERSION}`))
})

test('a file of another kind is rejected, naming the file and both kinds', async () => {
  const path = join(root, 'kind.state')
  await writeFramedFile(path, FileKind.TASK_STATE, payload)
  await rejectsCorrupt(() => readFramedFile(path, FileKind.METADATA), path, new RegExp(`file kind ${FileKind.TASK_STATE}, expected ${FileKind.METADATA}`))
})

test('unframe names the path it is given when bytes in memory are damaged', async () => {
  const bytes = frame(FileKind.CHANNEL_STATE, payload)
  bytes[bytes.length - 1]! ^= 0xff
  await rejectsCorrupt(() => unframe(bytes, FileKind.CHANNEL_STATE, '/some/where/chk-3/x'), '/some/where/chk-3/x', /checksum/)
})

test('a missing file is reported with its path and the word missing', async () => {
  const path = join(root, 'nope', 'never-written.state')
  await rejectsCorrupt(() => readFramedFile(path, FileKind.TASK_STATE), path, /is missing/)
})

test('writeFramedFile replaces an existing file atomically and leaves no temporary file behind', async () => {
  const dir = join(root, 'atomic')
  const path = join(dir, '_metadata')
  await writeFramedFile(path, FileKind.METADATA, new TextEncoder().encode('old'))
  await writeFramedFile(path, FileKind.METADATA, new TextEncoder().encode('new contents'))
  assert.deepEqual(readdirSync(dir), ['_metadata'])
  assert.equal(new TextDecoder().decode(await readFramedFile(path, FileKind.METADATA)), 'new contents')
})

test('a failed rename removes the temporary file and rethrows', async () => {
  const dir = join(root, 'rename-fails')
  // The target is a non-empty directory, so rename(tmp, path) fails after the temp file is written.
  const path = join(dir, 'target')
  await writeFramedFile(join(path, 'inner'), FileKind.TASK_STATE, payload)
  await assert.rejects(writeFramedFile(path, FileKind.TASK_STATE, payload), (e: NodeJS.ErrnoException) => typeof e.code === 'string')
  assert.deepEqual(readdirSync(dir), ['target'])
})
