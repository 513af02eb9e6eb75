import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeInSlices, chunksLength, joinSlicedArrays, EncodedPart, EMBEDDED } from '../../src/checkpoint/sliced-encoding.ts'
import { decodeValue, encodeValue } from '../../src/runtime/network/batch-codec.ts'

function join(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunksLength(chunks))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

test('a snapshot packed in slices decodes to the same value as one packed at once', async () => {
  const entries: unknown[] = []
  for (let i = 0; i < 30_000; i++) entries.push(i % 128, i % 3 === 0 ? `key-${i}` : i, i % 5 === 0 ? { word: `w${i}`, count: i, tags: ['a', 'b'] } : [i, 'x'])
  const snapshot = {
    version: 1,
    operators: {
      sum: { keyed: { format: 'canonical', maxParallelism: 128, states: { _sum: { kind: 'value', ttl: false, entries }, small: { kind: 'list', ttl: false, entries: [1, 'k', [1, 2]] } } }, timers: Array.from({ length: 5000 }, (_, i) => i) },
      source: { splits: [{ id: 'a', offset: 10n }] },
    },
    channels: { inputs: { 3: Array.from({ length: 70_000 }, (_, i) => ({ n: i })) }, outputs: {} },
  }
  const chunks = await encodeInSlices(snapshot)
  assert.ok(chunks.length > 10, 'the large arrays went in slices')
  const bytes = join(chunks)
  assert.deepEqual(joinSlicedArrays(decodeValue(bytes)), decodeValue(encodeValue(snapshot)))
  // The value itself was not changed.
  assert.equal(snapshot.operators.sum.keyed.states._sum.entries.length, 90_000)
})

test('a value without large arrays is one chunk', async () => {
  const chunks = await encodeInSlices({ version: 1, operators: { a: { state: [1, 2, 3] } } })
  assert.equal(chunks.length, 1)
  assert.deepEqual(decodeValue(chunks[0]!), { version: 1, operators: { a: { state: [1, 2, 3] } } })
})

test('a payload written as chunks is the same framed file as the joined payload', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join: joinPath } = await import('node:path')
  const { writeFramedChunks, writeFramedFile, readFramedFile, FileKind } = await import('../../src/checkpoint/file-format.ts')
  const dir = mkdtempSync(joinPath(tmpdir(), 'weir-chunks-'))
  try {
    const chunks = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(5 << 20).fill(7), Uint8Array.of(9)]
    await writeFramedChunks(joinPath(dir, 'a'), FileKind.TASK_STATE, chunks)
    await writeFramedFile(joinPath(dir, 'b'), FileKind.TASK_STATE, join(chunks))
    assert.ok(readFileSync(joinPath(dir, 'a')).equals(readFileSync(joinPath(dir, 'b'))), 'same file bytes')
    assert.ok(Buffer.from(await readFramedFile(joinPath(dir, 'a'), FileKind.TASK_STATE)).equals(join(chunks)), 'same payload')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a part encoded beforehand is embedded byte for byte, and joins back in place', async () => {
  const records = { inputs: { 3: Array.from({ length: 9000 }, (_, i) => ({ n: i })) }, outputs: { 1: ['x'] } }
  const part = new EncodedPart(await encodeInSlices(records))
  assert.ok(part.chunks.length > 1, 'the part holds sliced arrays of its own')
  assert.equal(part.bytes, chunksLength(part.chunks))
  const chunks = await encodeInSlices({ version: 1, operators: { a: { timers: Array.from({ length: 5000 }, (_, i) => i) } }, channels: part })
  for (const c of part.chunks) assert.ok(chunks.includes(c), 'the part\'s own chunks, not a copy')
  const decoded = decodeValue<{ channels: Record<string, Uint8Array> }>(join(chunks))
  assert.ok(Buffer.from(decoded.channels[EMBEDDED]!).equals(join([...part.chunks])), 'the embedded bytes are the part')
  assert.deepEqual(joinSlicedArrays(decoded), { version: 1, operators: { a: { timers: Array.from({ length: 5000 }, (_, i) => i) } }, channels: records })
})

test('a slice of large elements is packed as several small documents in a row, and decodes the same', async () => {
  const { decodeSequence } = await import('../../src/runtime/network/batch-codec.ts')
  const entries: unknown[] = []
  for (let i = 0; i < 3 * 5000; i += 3) entries.push(i % 128, `user-${i}`, `${i}:`.padEnd(1000, 'abcdefghijklmnopqrstuvwxyz'))
  // Small elements after the large ones: the documents grow back to whole slices.
  for (let i = 0; i < 3 * 20_000; i += 3) entries.push(i % 128, i, i)
  const snapshot = { version: 1, operators: { a: { keyed: { entries } } } }
  const chunks = await encodeInSlices(snapshot)
  const decoded = decodeValue<{ operators: { a: { keyed: { entries: { slices: Uint8Array[] } } } } }>(join(chunks))
  const bins = decoded.operators.a.keyed.entries.slices
  const first = decodeSequence<unknown[]>(bins[0]!)
  assert.ok(first.length > 10, `the first slice (2,048 elements, about 700 KiB) went as ${first.length} documents`)
  for (const part of first) assert.ok(encodeValue(part).length <= (64 << 10) + 1100, 'each document holds about 64 KiB at most')
  assert.equal(decodeSequence(bins.at(-1)!).length, 1, 'a slice of small elements is one document')
  assert.deepEqual(joinSlicedArrays(decodeValue(join(chunks))), snapshot)
})
