import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CHUNK_ELEMENTS, EntryChunkBuilder, EntryChunks, entryChunks } from '../../src/state/entry-chunks.ts'
import { chunksLength, encodeInSlices, joinSlicedArrays } from '../../src/checkpoint/sliced-encoding.ts'
import { decodeValue, encodeValue } from '../../src/runtime/network/batch-codec.ts'

function built(n: number): { chunks: EntryChunks; flat: unknown[] } {
  const b = new EntryChunkBuilder()
  const flat: unknown[] = []
  for (let i = 0; i < n; i++) {
    const value = i % 7 === 0 ? [`v${i}`, i] : i
    b.add(i % 128, `key-${i}`, value)
    flat.push(i % 128, `key-${i}`, value)
  }
  return { chunks: b.finish(), flat }
}

test('entries are collected in chunks of whole entries, none larger than CHUNK_ELEMENTS', () => {
  const { chunks, flat } = built(10_000)
  assert.ok(chunks.chunks.length > 1, 'more than one chunk')
  for (const c of chunks.chunks) {
    assert.ok(c.length <= CHUNK_ELEMENTS)
    assert.equal(c.length % 3, 0, 'whole entries')
  }
  assert.equal(chunks.length, flat.length)
  assert.deepEqual(entryChunks(chunks).flat(), flat)
  assert.deepEqual(entryChunks(flat), [flat], 'a flat list is its own only chunk')
  assert.equal(new EntryChunkBuilder().finish().length, 0)
})

test('packed directly or sliced for a checkpoint file, chunks read back as the flat list', async () => {
  const { chunks, flat } = built(10_000)
  const snapshot = { format: 'canonical', maxParallelism: 128, states: { s: { kind: 'value', ttl: false, entries: chunks } } }
  const expected = { format: 'canonical', maxParallelism: 128, states: { s: { kind: 'value', ttl: false, entries: flat } } }
  assert.deepEqual(decodeValue(encodeValue(snapshot)), expected)
  const parts = await encodeInSlices({ version: 1, operators: { a: { keyed: snapshot } } })
  assert.ok(parts.length > chunks.chunks.length, 'each chunk went in slices of its own')
  const bytes = new Uint8Array(chunksLength(parts))
  let at = 0
  for (const p of parts) {
    bytes.set(p, at)
    at += p.length
  }
  assert.deepEqual(joinSlicedArrays(decodeValue(bytes)), { version: 1, operators: { a: { keyed: expected } } })
})
