// The keyed state backend contract (../keyed-state-backend.contract.ts), its first part: every
// kind of state (value, list, map, reducing, aggregating), keys of every type, composite keys,
// and the registration of states by name and kind.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor } from '../../../src/api/state.ts'
import { isWeirError } from '../../../src/errors.ts'
import { counter, map, avg, type ContractContext } from './fixtures.ts'

export function stateKindContract(ctx: ContractContext): void {
  const { make } = ctx
  // ---- state kinds ----

  test('value state returns the default until updated, then the value; clear and null remove it', () => {
    const b = make()
    const s = b.getState(new ValueStateDescriptor<number>('v', 7))
    const t = b.getState(new ValueStateDescriptor<string>('w'))
    b.setCurrentKey('a')
    assert.equal(s.value(), 7)
    assert.equal(t.value(), undefined)
    s.update(1)
    t.update('x')
    assert.equal(s.value(), 1)
    assert.equal(t.value(), 'x')
    s.clear()
    assert.equal(s.value(), 7)
    t.update(null as unknown as string)
    assert.equal(t.value(), undefined)
    assert.deepEqual([...b.keys('w')], [])
  })

  test('value state holds structured values', () => {
    const b = make()
    const s = b.getState(new ValueStateDescriptor<unknown>('v'))
    const value = { n: 1, s: 'x', list: [1, 2, { deep: true }], big: 12345678901234n, f: 1.5, nested: { a: [null] } }
    b.setCurrentKey('k')
    s.update(value)
    b.setCurrentKey('other')
    s.update(1)
    b.setCurrentKey('k')
    assert.deepEqual(s.value(), value)
  })

  test('list state adds, replaces, clears; an empty list is no entry', () => {
    const b = make()
    const s = b.getState(new ListStateDescriptor<number>('l'))
    b.setCurrentKey('a')
    assert.deepEqual(s.get(), [])
    s.add(1)
    s.addAll([2, 3])
    s.addAll([])
    assert.deepEqual(s.get(), [1, 2, 3])
    const given = [9, 8]
    s.update(given)
    given.push(7)
    assert.deepEqual(s.get(), [9, 8], 'update copies the array it is given')
    s.update([])
    assert.deepEqual(s.get(), [])
    assert.deepEqual([...b.keys('l')], [])
    s.add(5)
    s.clear()
    assert.deepEqual(s.get(), [])
  })

  test('map state: put, get, contains, remove, entries, keys, values, isEmpty, putAll, clear', () => {
    const b = make()
    const s = b.getState(new MapStateDescriptor<string, number>('m'))
    b.setCurrentKey('a')
    assert.equal(s.isEmpty(), true)
    assert.equal(s.get('x'), undefined)
    assert.equal(s.contains('x'), false)
    s.put('x', 1)
    s.put('y', 2)
    s.put('x', 3)
    assert.equal(s.get('x'), 3)
    assert.equal(s.contains('y'), true)
    assert.equal(s.isEmpty(), false)
    assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['y', 2]]))
    assert.deepEqual([...s.keys()].sort(), ['x', 'y'])
    assert.deepEqual([...s.values()].sort(), [2, 3])
    s.putAll([['z', 4], ['y', 5]])
    assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['y', 5], ['z', 4]]))
    s.remove('y')
    s.remove('nope')
    assert.equal(s.contains('y'), false)
    assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['z', 4]]))
    s.remove('x')
    s.remove('z')
    assert.equal(s.isEmpty(), true)
    assert.deepEqual([...b.keys('m')], [], 'a map emptied by remove() leaves no entry')
    s.put('q', 1)
    s.clear()
    assert.equal(s.isEmpty(), true)
    assert.equal(s.get('q'), undefined)
    s.put('r', 2)
    assert.deepEqual([...s.entries()], [['r', 2]], 'a map cleared and written again holds only the new entries')
  })

  test('map state with number, string and composite map keys', () => {
    const b = make()
    const s = b.getState(new MapStateDescriptor<unknown, string>('m'))
    b.setCurrentKey(1)
    const pair = [1, 2]
    s.put(1, 'one')
    s.put('1', 'string one')
    s.put(pair, 'pair')
    assert.equal(s.get(1), 'one')
    assert.equal(s.get('1'), 'string one')
    assert.equal(s.contains(2), false)
    assert.equal(s.get(pair), 'pair')
    // (Composite map keys: the heap backend compares them by identity, LMDB by JSON value.)
    assert.deepEqual([...s.entries()].map(([k, v]) => [JSON.stringify(k), v]).sort(), [['"1"', 'string one'], ['1', 'one'], ['[1,2]', 'pair']])
  })

  test('reducing and aggregating state', () => {
    const b = make()
    const r = b.getState(new ReducingStateDescriptor<number>('r', (x, y) => x + y))
    const a = b.getState(avg)
    b.setCurrentKey('a')
    assert.equal(r.get(), undefined)
    assert.equal(a.get(), undefined)
    r.add(2)
    r.add(3)
    a.add(1)
    a.add(4)
    assert.equal(r.get(), 5)
    assert.equal(a.get(), 2.5)
    r.clear()
    a.clear()
    assert.equal(r.get(), undefined)
    assert.equal(a.get(), undefined)
  })

  test('each key has its own entries', () => {
    const b = make()
    const c = b.getState(counter)
    const m = b.getState(map)
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 50; k++) {
        b.setCurrentKey(`k${k}`)
        c.update(c.value() + k)
        m.put(`r${round}`, k)
      }
    }
    for (let k = 0; k < 50; k++) {
      b.setCurrentKey(`k${k}`)
      assert.equal(c.value(), 3 * k)
      assert.deepEqual(new Map(m.entries()), new Map([['r0', k], ['r1', k], ['r2', k]]))
    }
    assert.equal([...b.keys('count')].length, 50)
    assert.deepEqual(new Set(b.keys('map')), new Set(Array.from({ length: 50 }, (_, k) => `k${k}`)))
  })

  test('keys of different types are different keys: 1, "1", 1n, true', () => {
    const b = make()
    const c = b.getState(counter)
    const keys = [1, '1', 1n, true, 0, -1, 2 ** 40, 0.5, '', 'ü€']
    keys.forEach((k, i) => {
      b.setCurrentKey(k)
      c.update(i + 1)
    })
    keys.forEach((k, i) => {
      b.setCurrentKey(k)
      assert.equal(c.value(), i + 1, `key ${String(k)}`)
    })
    assert.equal([...b.keys('count')].length, keys.length)
  })

  test('composite keys: equal arrays and objects share one entry; currentMapKey is their JSON text', () => {
    const b = make()
    const c = b.getState(counter)
    b.setCurrentKey(['a', 1])
    assert.equal(b.currentMapKey, '["a",1]')
    c.update(c.value() + 1)
    b.setCurrentKey(['a', 1])
    c.update(c.value() + 1)
    b.setCurrentKey({ user: 'u', n: 2 })
    c.update(10)
    b.setCurrentKey(['a', 2])
    assert.equal(c.value(), 0)
    b.setCurrentKey(['a', 1])
    assert.equal(c.value(), 2)
    assert.deepEqual(b.currentKey, ['a', 1])
    b.setCurrentKey({ user: 'u', n: 2 })
    assert.equal(c.value(), 10)
    const keys = [...b.keys('count')]
    assert.equal(keys.length, 2)
    assert.deepEqual(new Set(keys.map((k) => JSON.stringify(k))), new Set(['["a",1]', '{"user":"u","n":2}']))
  })

  test('getState returns the registered state; another kind under the same name fails, naming it', () => {
    const b = make()
    const s1 = b.getState(new ValueStateDescriptor<number>('same'))
    const s2 = b.getState(new ValueStateDescriptor<number>('same'))
    assert.equal(s1, s2)
    assert.throws(() => b.getState(new ListStateDescriptor<number>('same')), (e: Error) => isWeirError(e) && /'same'/.test(e.message) && /value/.test(e.message) && /list/.test(e.message))
    assert.throws(() => b.getState(new MapStateDescriptor<string, number>('same')), /'same'.*value.*map/)
  })
}
