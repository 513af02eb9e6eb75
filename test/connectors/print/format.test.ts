import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatRecord } from '../../../src/connectors/print/format.ts'

test('a two-element array prints as a Flink tuple (a,b)', () => {
  assert.equal(formatRecord(['hello', 1]), '(hello,1)')
  assert.equal(formatRecord([1, 2.5]), '(1,2.5)')
  assert.equal(formatRecord(['', '']), '(,)')
  assert.equal(formatRecord([true, null]), '(true,null)')
})

test('strings print as they are, without quotes', () => {
  assert.equal(formatRecord('hello world'), 'hello world')
  assert.equal(formatRecord(''), '')
  assert.equal(formatRecord('"quoted"'), '"quoted"')
})

test('numbers, booleans and bigints print as their text', () => {
  assert.equal(formatRecord(42), '42')
  assert.equal(formatRecord(-1.5), '-1.5')
  assert.equal(formatRecord(true), 'true')
  assert.equal(formatRecord(12345678901234567890n), '12345678901234567890')
  assert.equal(formatRecord(undefined), 'undefined')
})

test('objects and arrays of other lengths print as JSON', () => {
  const obj = { word: 'a', count: 2, nested: { ok: true } }
  assert.deepEqual(JSON.parse(formatRecord(obj)), obj)
  assert.deepEqual(JSON.parse(formatRecord([1, 2, 3])), [1, 2, 3])
  assert.deepEqual(JSON.parse(formatRecord([])), [])
  assert.deepEqual(JSON.parse(formatRecord(['only'])), ['only'])
  assert.equal(formatRecord(null), 'null')
})

test('a bigint inside an object prints its exact value instead of failing', () => {
  const text = formatRecord({ id: 9007199254740993n, list: [1n] })
  const parsed = JSON.parse(text) as { id: unknown; list: unknown[] }
  assert.equal(BigInt(parsed.id as string), 9007199254740993n)
  assert.equal(BigInt(parsed.list[0] as string), 1n)
})

test('tuples nest: ((a,1),2), and an object inside a tuple prints as JSON', () => {
  assert.equal(formatRecord([['a', 1], 2]), '((a,1),2)')
  assert.equal(formatRecord(['k', ['x', ['y', 3]]]), '(k,(x,(y,3)))')
  const [left, right] = /^\((.*),(\{.*\})\)$/.exec(formatRecord(['k', { v: 1 }]))!.slice(1)
  assert.equal(left, 'k')
  assert.deepEqual(JSON.parse(right!), { v: 1 })
  assert.equal(formatRecord(['big', 5n]), '(big,5)')
})
