import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'
import type { InPlaceValueState } from '../../../src/state/keyed-state-backend.ts'

function valueState(backend: HeapKeyedStateBackend): InPlaceValueState<unknown> {
  return backend.getState(new ValueStateDescriptor<unknown>('v')) as unknown as InPlaceValueState<unknown>
}

test('after a capture froze a value, valueForChange finds none and valueAfterMiss finds the frozen one', () => {
  const backend = new HeapKeyedStateBackend(128)
  const state = valueState(backend)
  backend.setCurrentKey('a')
  state.update(5)
  assert.equal(state.valueForChange(), 5, 'live: changeable in place')
  backend.captureSnapshot(1, { savepoint: false })
  assert.equal(state.valueForChange(), undefined, 'frozen: not to be changed in place')
  assert.equal(state.valueAfterMiss(), 5)
  backend.setCurrentKey('b')
  assert.equal(state.valueForChange(), undefined)
  assert.equal(state.valueAfterMiss(), undefined, 'a key no layer holds')
})

test('valueAfterMiss does not see a frozen value through a deletion made after the capture', () => {
  const backend = new HeapKeyedStateBackend(128)
  const state = valueState(backend)
  backend.setCurrentKey('a')
  state.update(5)
  backend.captureSnapshot(1, { savepoint: false })
  state.clear()
  assert.equal(state.valueForChange(), undefined)
  assert.equal(state.valueAfterMiss(), undefined)
  assert.equal(state.value(), undefined)
})
