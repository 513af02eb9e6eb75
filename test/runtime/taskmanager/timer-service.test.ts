import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessingTimeTimers, type Timer } from '../../../src/runtime/taskmanager/timer-service.ts'

/** mulberry32: a small seeded PRNG, so a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function drain(timers: ProcessingTimeTimers, now = Infinity): Timer[] {
  const out: Timer[] = []
  for (let t = timers.pollDue(now); t !== undefined; t = timers.pollDue(now)) out.push(t)
  return out
}

const SEEDS = [1, 42, 20240601, Date.now() % 1_000_000]

for (const seed of SEEDS) {
  test(`many random timers come out in time order, each exactly once (seed ${seed})`, () => {
    const rand = prng(seed)
    const timers = new ProcessingTimeTimers()
    const expected = new Map<string, number>()
    for (let i = 0; i < 5000; i++) {
      const time = Math.floor(rand() * 1000)
      const key = `k${Math.floor(rand() * 50)}`
      const added = timers.register(time, key, key)
      const id = `${time}|${key}`
      assert.equal(added, !expected.has(id), `seed ${seed}: register(${time}, ${key}) reports whether it was new`)
      expected.set(id, time)
    }
    assert.equal(timers.size(), expected.size)
    const fired = drain(timers)
    assert.equal(fired.length, expected.size, `seed ${seed}`)
    for (let i = 1; i < fired.length; i++) assert.ok(fired[i - 1]!.time <= fired[i]!.time, `seed ${seed}: timer ${i} fired out of order`)
    assert.deepEqual(new Set(fired.map((t) => `${t.time}|${t.mapKey}`)), new Set(expected.keys()), `seed ${seed}`)
    assert.equal(timers.size(), 0)
    assert.equal(timers.nextTime(), Infinity)
  })

  test(`random registrations, deletions and polls match a simple model (seed ${seed})`, () => {
    const rand = prng(seed)
    const timers = new ProcessingTimeTimers()
    const model = new Map<string, { time: number; key: string }>()
    let now = 0
    for (let step = 0; step < 20000; step++) {
      const r = rand()
      const time = now + Math.floor(rand() * 200) - 20
      const key = `k${Math.floor(rand() * 20)}`
      if (r < 0.5) {
        timers.register(time, key, key)
        model.set(`${time}|${key}`, { time, key })
      } else if (r < 0.7) {
        // Delete a timer that exists (or may not): either must be fine.
        const existing = [...model.values()]
        const victim = existing.length > 0 && rand() < 0.8 ? existing[Math.floor(rand() * existing.length)]! : { time, key }
        timers.delete(victim.time, victim.key)
        model.delete(`${victim.time}|${victim.key}`)
      } else {
        now += Math.floor(rand() * 30)
        const fired = drain(timers, now)
        const due = [...model.values()].filter((t) => t.time <= now).sort((a, b) => a.time - b.time)
        assert.deepEqual(fired.map((t) => t.time), due.map((t) => t.time), `seed ${seed} step ${step}: fired times at now=${now}`)
        assert.deepEqual(new Set(fired.map((t) => `${t.time}|${t.mapKey}`)), new Set(due.map((t) => `${t.time}|${t.key}`)), `seed ${seed} step ${step}`)
        for (const t of due) model.delete(`${t.time}|${t.key}`)
      }
      assert.equal(timers.size(), model.size, `seed ${seed} step ${step}: size`)
      const min = Math.min(...[...model.values()].map((t) => t.time))
      assert.equal(timers.nextTime(), min, `seed ${seed} step ${step}: nextTime`)
    }
  })
}

test('registering the same key and time twice keeps one timer', () => {
  const timers = new ProcessingTimeTimers()
  assert.equal(timers.register(100, 'a', 'a'), true)
  assert.equal(timers.register(100, 'a', 'a'), false)
  assert.equal(timers.register(100, 'b', 'b'), true)
  assert.equal(timers.register(101, 'a', 'a'), true)
  assert.equal(timers.size(), 3)
  assert.equal(timers.all().length, 3)
  const fired = drain(timers)
  assert.equal(fired.length, 3)
  assert.deepEqual(new Set(fired.slice(0, 2).map((t) => t.key)), new Set(['a', 'b']))
  assert.deepEqual([fired[2]!.time, fired[2]!.key], [101, 'a'])
})

test('a timer can be registered again after it fired', () => {
  const timers = new ProcessingTimeTimers()
  timers.register(5, 'k', 'k')
  assert.equal(timers.pollDue(5)?.key, 'k')
  assert.equal(timers.register(5, 'k', 'k'), true)
  assert.equal(timers.pollDue(5)?.key, 'k')
})

test('a deleted timer never fires, and the others still do in order', () => {
  const timers = new ProcessingTimeTimers()
  timers.register(10, 'a', 'a')
  timers.register(20, 'b', 'b')
  timers.register(30, 'c', 'c')
  timers.delete(10, 'a')
  timers.delete(30, 'c')
  timers.delete(999, 'nobody') // deleting a timer that does not exist is harmless
  assert.equal(timers.size(), 1)
  assert.equal(timers.nextTime(), 20)
  assert.deepEqual(timers.all().map((t) => t.key), ['b'])
  assert.deepEqual(drain(timers).map((t) => t.key), ['b'])
})

test('a deleted and re-registered timer fires once', () => {
  const timers = new ProcessingTimeTimers()
  timers.register(10, 'a', 'a')
  timers.delete(10, 'a')
  assert.equal(timers.register(10, 'a', 'a'), true)
  assert.equal(timers.size(), 1)
  assert.deepEqual(drain(timers).map((t) => [t.time, t.key]), [[10, 'a']])
})

test('pollDue returns only timers due at now', () => {
  const timers = new ProcessingTimeTimers()
  timers.register(100, 'x', 'x')
  timers.register(50, 'y', 'y')
  assert.equal(timers.pollDue(49), undefined)
  assert.equal(timers.size(), 2)
  const first = timers.pollDue(50)
  assert.deepEqual([first?.time, first?.key], [50, 'y'])
  assert.equal(timers.pollDue(99), undefined)
  assert.equal(timers.nextTime(), 100)
  assert.equal(timers.pollDue(100)?.key, 'x')
  assert.equal(timers.pollDue(1e12), undefined)
  assert.equal(timers.nextTime(), Infinity)
})

test('timers keep their key and map key', () => {
  const timers = new ProcessingTimeTimers()
  const key = ['user', 7]
  timers.register(1, key, 'user,7')
  const t = timers.pollDue(1)!
  assert.equal(t.key, key)
  assert.equal(t.mapKey, 'user,7')
})

test('all() lists a timer that was deleted and registered again once', () => {
  const timers = new ProcessingTimeTimers()
  timers.register(10, 'a', 'a')
  timers.delete(10, 'a')
  timers.register(10, 'a', 'a')
  assert.equal(timers.size(), 1)
  assert.deepEqual(timers.all().map((t) => [t.time, t.key]), [[10, 'a']])
})
