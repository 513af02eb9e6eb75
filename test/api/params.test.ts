import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseParams } from '../../src/api/environment.ts'

test('--key value pairs become params', () => {
  assert.deepEqual(parseParams(['--input', 'in.txt', '--n', '3000']), { input: 'in.txt', n: '3000' })
})

test('--key=value pairs become params, keeping further = in the value', () => {
  assert.deepEqual(parseParams(['--input=in.txt', '--expr=a=b', '--empty=']), { input: 'in.txt', expr: 'a=b', empty: '' })
})

test('a bare flag is true, whether it is last or followed by another option', () => {
  assert.deepEqual(parseParams(['--verbose']), { verbose: 'true' })
  assert.deepEqual(parseParams(['--verbose', '--n', '5']), { verbose: 'true', n: '5' })
  assert.deepEqual(parseParams(['--a', '--b']), { a: 'true', b: 'true' })
})

test('negative numbers are values, not flags', () => {
  assert.deepEqual(parseParams(['--offset', '-5']), { offset: '-5' })
  assert.deepEqual(parseParams(['--offset', '-5', '--x', '1']), { offset: '-5', x: '1' })
  assert.deepEqual(parseParams(['--delta', '-0.25']), { delta: '-0.25' })
})

test('a lone dash is a value (stdin by convention)', () => {
  assert.deepEqual(parseParams(['--input', '-']), { input: '-' })
})

test('single-dash options work like double-dash ones', () => {
  assert.deepEqual(parseParams(['-n', '7', '-v']), { n: '7', v: 'true' })
})

test('positional arguments and a bare -- are ignored', () => {
  assert.deepEqual(parseParams(['pos1', '--', '--k', 'v', 'pos2']), { k: 'v' })
  assert.deepEqual(parseParams([]), {})
})

test('a repeated key keeps the last value', () => {
  assert.deepEqual(parseParams(['--k', '1', '--k=2']), { k: '2' })
})
