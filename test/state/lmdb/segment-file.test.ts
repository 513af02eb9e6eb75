import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Packr, Unpackr } from 'msgpackr'
import { forEachSegmentEntry, readSegment, SEGMENT_BYTES, SegmentWriter, type SegmentRef } from '../../../src/state/lmdb/segment-file.ts'
import { primitiveBytes } from '../../../src/state/lmdb/primitive-values.ts'

const packr = new Packr({ useRecords: false, moreTypes: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

/**
 * Every entry of the segments, in order, as [key group, rest of the key, value]; checks that each
 * segment counts its entries and names the key groups it holds.
 */
function readBack(dir: string, refs: readonly SegmentRef[]): Array<[number, string, unknown]> {
  const read: Array<[number, string, unknown]> = []
  for (const ref of refs) {
    const groups: number[] = []
    forEachSegmentEntry(readSegment(dir, ref), (key, value) => {
      const kg = key.readUInt16BE(0)
      groups.push(kg)
      read.push([kg, key.subarray(2).toString(), value === null ? null : unpackr.unpack(value)])
    })
    assert.equal(ref.entries, groups.length)
    assert.equal(ref.firstKeyGroup, Math.min(...groups), `${ref.name} starts at its first entry's key group`)
    assert.equal(ref.lastKeyGroup, Math.max(...groups), `${ref.name} ends at its last entry's key group`)
  }
  return read
}

test('entries added with their values unpacked read back in order, and each segment names the key groups it holds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-segment-'))
  try {
    const writer = new SegmentWriter(dir, 'test', 1, 'delta')
    // A reused key buffer longer than the key, as the heap backend's writer passes it.
    const keyBuf = Buffer.alloc(64)
    const written: Array<[number, string, unknown]> = []
    const big = 'v'.repeat(3000)
    // About 36 MB in all: the segment is cut, also right where a packed (non-primitive) value comes.
    for (let kg = 0; kg < 8; kg++) {
      for (let i = 0; i < 4500; i++) {
        const id = `k${i}`
        keyBuf.writeUInt16BE(kg, 0)
        const len = 2 + keyBuf.write(id, 2)
        // Numbers, short strings, long strings (ASCII and not), and values msgpackr packs.
        const value = i % 4 === 0 ? i : i % 4 === 1 ? `s${i}` : i % 4 === 2 ? [big, i] : i % 8 === 3 ? `${big}${i}` : '€'.repeat(300 + (i % 50))
        writer.addValue(keyBuf, len, value, (v) => packr.pack(v))
        written.push([kg, id, value])
      }
      keyBuf.writeUInt16BE(kg, 0)
      writer.add(Buffer.from(keyBuf.subarray(0, 2 + keyBuf.write('gone', 2))), null)
      written.push([kg, 'gone', null])
    }
    const refs = await writer.finish()
    assert.ok(refs.length >= 2, `cut into ${refs.length} segments`)
    assert.deepEqual(readBack(dir, refs), written)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a segment cut where a packed value comes ends at the key group before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-segment-'))
  try {
    const writer = new SegmentWriter(dir, 'test', 1, 'delta')
    const value = ['v'.repeat(3000)]
    const key = (kg: number, i: number) => {
      const k = Buffer.alloc(7)
      k.writeUInt16BE(kg, 0)
      k.write(`k${String(i).padStart(4, '0')}`, 2)
      return k
    }
    const entryBytes = 2 + 7 + 4 + packr.pack(value).length
    // Key group 0 fills the segment but for less than one more such entry, and more than a primitive's room.
    const n = Math.floor((SEGMENT_BYTES - 1) / entryBytes)
    assert.ok(SEGMENT_BYTES - 1 - n * entryBytes > 2 + 7 + 4 + primitiveBytes(0), 'the case under test: room for a primitive, not for the packed value')
    for (let i = 0; i < n; i++) writer.addValue(key(0, i), 7, value, (v) => packr.pack(v))
    writer.addValue(key(1, 0), 7, value, (v) => packr.pack(v))
    const refs = await writer.finish()
    assert.deepEqual(refs.map((r) => [r.firstKeyGroup, r.lastKeyGroup, r.entries]), [[0, 0, n], [1, 1, 1]])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('runs of entries encoded elsewhere join the segments as they are, after what add() wrote, cut between pieces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-segment-'))
  try {
    const writer = new SegmentWriter(dir, 'test', 1, 'base')
    const written: Array<[number, string, unknown]> = []
    // Key group 0 through add(), as any writer does.
    const key0 = Buffer.from([0, 0, ...Buffer.from('first')])
    writer.add(key0, packr.pack('by add'))
    written.push([0, 'first', 'by add'])
    // Key groups 1 to 40: each a run of one piece of about 1 MiB (~41 MB in all: more than a segment holds).
    const value = 'x'.repeat(1000)
    for (let kg = 1; kg <= 40; kg++) {
      const entries: Buffer[] = []
      for (let i = 0; i < 1000; i++) {
        const id = `k${i}`
        const key = Buffer.from([kg >> 8, kg & 0xff, ...Buffer.from(id)])
        const packed = packr.pack(`${value}${i}`)
        const entry = Buffer.alloc(2 + key.length + 4 + packed.length)
        entry.writeUInt16BE(key.length, 0)
        key.copy(entry, 2)
        entry.writeUInt32BE(packed.length, 2 + key.length)
        packed.copy(entry, 6 + key.length)
        entries.push(entry)
        written.push([kg, id, `${value}${i}`])
      }
      writer.addRun(kg, [{ bytes: Buffer.concat(entries), entries: 1000 }, { bytes: Buffer.alloc(0), entries: 0 }])
      await writer.drain()
    }
    // And add() again after the runs.
    writer.add(Buffer.from([0, 41, ...Buffer.from('last')]), null)
    written.push([41, 'last', null])
    const refs = await writer.finish()
    assert.ok(refs.length >= 2, `cut into ${refs.length} segments`)
    for (const ref of refs) assert.ok(ref.bytes <= SEGMENT_BYTES + 4096, `${ref.name} is ${ref.bytes} bytes`)
    assert.deepEqual(readBack(dir, refs), written)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
