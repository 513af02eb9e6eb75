// The per-key-group runs a heap incremental checkpoint encodes its entries into: pieces that are
// never grown or copied, an entry never split across two, each key group's pieces in order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KeyGroupRuns, PIECE_BYTES } from '../../../src/state/heap/key-group-runs.ts'

function append(runs: KeyGroupRuns, kg: number, text: string): void {
  const bytes = Buffer.from(text)
  const buf = runs.room(kg, bytes.length)
  const at = runs.end(kg)
  bytes.copy(buf, at)
  runs.added(kg, at + bytes.length)
}

test('key group runs: entries come back per key group in order, in pieces that each hold whole entries', () => {
  const runs = new KeyGroupRuns(4)
  const expected: string[][] = [[], [], [], []]
  for (let i = 0; i < 20_000; i++) {
    const kg = i % 3 // key group 3 gets nothing
    const entry = `<${kg}:${i}:${'x'.repeat(i % 97)}>`
    append(runs, kg, entry)
    expected[kg]!.push(entry)
  }
  // One entry larger than a piece gets a piece of its own size.
  const huge = `<1:huge:${'y'.repeat(PIECE_BYTES + 10)}>`
  append(runs, 1, huge)
  expected[1]!.push(huge)
  for (let kg = 0; kg < 4; kg++) {
    const pieces = runs.take(kg)
    const entries: string[] = []
    for (const piece of pieces) {
      const text = piece.bytes.toString()
      const inPiece = text.match(/<[^>]*>/g) ?? []
      assert.equal(inPiece.join(''), text, 'a piece holds whole entries only')
      assert.equal(piece.entries, inPiece.length)
      assert.ok(piece.bytes.length <= PIECE_BYTES || inPiece.length === 1, 'only a single large entry makes a piece larger than PIECE_BYTES')
      entries.push(...inPiece)
    }
    assert.deepEqual(entries, expected[kg])
    if (kg === 0) assert.ok(pieces.length > 1, 'a run of ~1 MB took several pieces')
    assert.deepEqual(runs.take(kg), [], 'taken once')
  }
})
