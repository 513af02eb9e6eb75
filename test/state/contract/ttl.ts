// The keyed state backend contract (../keyed-state-backend.contract.ts): state time-to-live, on
// every kind of state, in reads, savepoints and restores, on a clock the tests move.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor } from '../../../src/api/state.ts'
import { assignToKeyGroup } from '../../../src/state/key-groups.ts'
import { MAX_P, ALL, ManualClock, normalize, avg, ttl, type ContractContext } from './fixtures.ts'

export function ttlContract(ctx: ContractContext): void {
  const { make, savepoint } = ctx
  // ---- TTL ----

  test('TTL: a value is visible until ttlMs after its last write, then gone', () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const s = b.getState(new ValueStateDescriptor<number>('v', -1).enableTimeToLive(ttl()))
    b.setCurrentKey('a')
    s.update(1)
    clock.advance(999)
    assert.equal(s.value(), 1)
    s.update(2)
    clock.advance(999)
    assert.equal(s.value(), 2, 'a write restarts the time to live')
    clock.advance(1)
    assert.equal(s.value(), -1, 'expired: the default')
    clock.advance(10_000)
    assert.equal(s.value(), -1)
  })

  test('TTL: reads do not refresh by default; OnReadAndWrite does', () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const plain = b.getState(new ValueStateDescriptor<number>('plain').enableTimeToLive(ttl()))
    const onRead = b.getState(new ValueStateDescriptor<number>('onRead').enableTimeToLive(ttl({ updateType: 'OnReadAndWrite' })))
    b.setCurrentKey('a')
    plain.update(1)
    onRead.update(1)
    for (let i = 0; i < 3; i++) {
      clock.advance(600)
      plain.value()
      onRead.value()
    }
    assert.equal(plain.value(), undefined)
    assert.equal(onRead.value(), 1)
    clock.advance(1000)
    assert.equal(onRead.value(), undefined)
  })

  test('TTL: ReturnExpiredIfNotCleanedUp returns an expired value until it is cleaned up', () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const s = b.getState(new ValueStateDescriptor<number>('v').enableTimeToLive(ttl({ stateVisibility: 'ReturnExpiredIfNotCleanedUp' })))
    b.setCurrentKey('a')
    s.update(1)
    clock.advance(5000)
    assert.equal(s.value(), 1)
  })

  test('TTL on list, map, reducing and aggregating state', () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const l = b.getState(new ListStateDescriptor<number>('l').enableTimeToLive(ttl()))
    const m = b.getState(new MapStateDescriptor<string, number>('m').enableTimeToLive(ttl()))
    const r = b.getState(new ReducingStateDescriptor<number>('r', (x, y) => x + y).enableTimeToLive(ttl()))
    const a = b.getState(new AggregatingStateDescriptor('a', avg.aggregate).enableTimeToLive(ttl()))
    b.setCurrentKey('k')
    l.add(1)
    m.put('x', 1)
    r.add(1)
    a.add(1)
    clock.advance(600)
    l.add(2)
    m.put('y', 2)
    r.add(2)
    a.add(3)
    clock.advance(600)
    assert.deepEqual(l.get(), [1, 2])
    assert.deepEqual(new Map(m.entries()), new Map([['x', 1], ['y', 2]]), 'a write to a map refreshes the whole map')
    assert.equal(r.get(), 3)
    assert.equal(a.get(), 2)
    clock.advance(1000)
    assert.deepEqual(l.get(), [])
    assert.equal(m.get('x'), undefined)
    assert.equal(m.isEmpty(), true)
    assert.equal(r.get(), undefined)
    assert.equal(a.get(), undefined)
    m.put('z', 3)
    assert.deepEqual([...m.entries()], [['z', 3]], 'an expired map does not come back with a new write')
  })

  test('TTL: savepoints store [value, lastWrite] and drop expired entries', async () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const s = b.getState(new ValueStateDescriptor<number>('v').enableTimeToLive(ttl()))
    const m = b.getState(new MapStateDescriptor<string, number>('m').enableTimeToLive(ttl()))
    b.setCurrentKey('old')
    s.update(1)
    m.put('a', 1)
    clock.advance(600)
    b.setCurrentKey('new')
    s.update(2)
    m.put('b', 2)
    clock.advance(600)
    const n = normalize(await savepoint(b))
    const kg = assignToKeyGroup('new', MAX_P)
    assert.deepEqual(n.v, { kind: 'value', ttl: true, entries: [JSON.stringify([kg, 'new', [2, clock.time - 600]])] })
    assert.deepEqual(n.m, { kind: 'map', ttl: true, entries: [JSON.stringify([kg, 'new', [[['b', 2]], clock.time - 600]])] })
  })

  test('TTL: restored entries keep their write time', async () => {
    const clock = new ManualClock()
    const b = make({ now: clock.now })
    const d = new ValueStateDescriptor<number>('v').enableTimeToLive(ttl())
    b.getState(d)
    b.setCurrentKey('a')
    b.getState(d).update(1)
    clock.advance(600)
    const snap = await savepoint(b)
    const r = make({ now: clock.now })
    r.restore(snap, ALL)
    const s = r.getState(d)
    r.setCurrentKey('a')
    assert.equal(s.value(), 1)
    clock.advance(400)
    assert.equal(s.value(), undefined)
  })
}
