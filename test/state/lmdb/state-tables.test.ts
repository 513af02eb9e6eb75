import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_STATE_ID, StateTables } from '../../../src/state/lmdb/state-tables.ts'
import { isWeirError } from '../../../src/errors.ts'

test('states are numbered in registration order and found by name', () => {
  const t = new StateTables()
  const a = t.create('a', 'value', false, null)
  const b = t.create('b', 'map', true, null)
  assert.deepEqual([a.id, b.id], [1, 2])
  assert.equal(t.get('b'), b)
  assert.equal(t.get('c'), undefined)
  assert.equal(t.size, 2)
  assert.deepEqual([...t.values()].map((x) => x.name), ['a', 'b'])
  assert.equal(b.timestamped, true)
  assert.equal(b.kind, 'map')
})

test('a restored state keeps its snapshot id when it is free, and takes the next free one when it is not', () => {
  const t = new StateTables()
  t.create('a', 'value', false, null) // id 1
  const restored = t.forRestore('r', 'list', false, 7)
  assert.equal(restored.id, 7)
  assert.equal(t.create('next', 'value', false, null).id, 8, 'numbering goes on past the restored id')
  const clash = t.forRestore('s', 'value', false, 1)
  assert.equal(clash.id, 9, 'id 1 is taken by a')
})

test('a restore into a registered state returns it, and refuses another kind', () => {
  const t = new StateTables()
  const a = t.create('a', 'value', false, null)
  assert.equal(t.forRestore('a', 'value', false, 5), a)
  assert.throws(() => t.forRestore('a', 'map', false, null), (e) => isWeirError(e) && e.code === 'WEIR_INVALID_JOB' && /state 'a'/.test(e.message))
})

test('ids stop at MAX_STATE_ID with a typed error naming the limit', () => {
  const t = new StateTables()
  t.forRestore('last', 'value', false, MAX_STATE_ID)
  assert.throws(() => t.create('one too many', 'value', false, null), (e) => isWeirError(e) && e.code === 'WEIR_INVALID_JOB' && e.message.includes(String(MAX_STATE_ID)))
})
