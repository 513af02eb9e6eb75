import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { KeyFilter } from '../../../src/state/lmdb/key-filter.ts'
import { KeyRef } from '../../../src/state/lmdb/lmdb-key-layout.ts'
import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'
import { throughCodec } from '../keyed-state-backend.contract.ts'
import { lmdbBackends } from './fixtures.ts'


// commits every 2 keys: reads go past the cache
const lmdb = lmdbBackends('filter', { cacheSize: 4 })

function ref(text: string): KeyRef {
  const r = new KeyRef(Buffer.alloc(64))
  r.len = r.buf.write(text, 'latin1')
  return r
}

/** Counts the LMDB lookups of a backend. */
function countLookups(b: LmdbKeyedStateBackend): { n: number } {
  const counter = { n: 0 }
  const db = b.db as unknown as { getBinaryFast: (k: unknown) => unknown }
  const get = db.getBinaryFast.bind(db)
  db.getBinaryFast = (k: unknown) => {
    counter.n++
    return get(k)
  }
  return counter
}

describe('key filter', () => {
  test('never says absent for an added key, across its growth, and mostly says absent for others', () => {
    const f = new KeyFilter()
    const added = 400_000 // past the first layer's 131 072 keys: three layers
    for (let i = 0; i < added; i++) {
      const r = ref(`key-${i}`)
      f.add(r.buf, r.len)
    }
    for (let i = 0; i < added; i++) assert.equal(f.mayContain(ref(`key-${i}`)), true, `key-${i}`)
    let maybe = 0
    for (let i = 0; i < 10_000; i++) if (f.mayContain(ref(`other-${i}`))) maybe++
    assert.ok(maybe < 2_500, `${maybe} of 10 000 absent keys answered maybe`)
  })

  test('reads of keys never written skip LMDB; written and committed ones are found', () => {
    const b = lmdb()
    try {
      const s = b.getState(new ValueStateDescriptor<number>('count', 0))
      const lookups = countLookups(b)
      for (let k = 0; k < 200; k++) {
        b.setCurrentKey(`new-${k}`)
        s.update(s.value() + 1)
      }
      assert.ok(lookups.n < 50, `${lookups.n} LMDB lookups for 200 new keys`)
      b.flush()
      for (let k = 0; k < 200; k++) {
        b.setCurrentKey(`new-${k}`)
        assert.equal(s.value(), 1)
      }
    } finally {
      b.dispose()
    }
  })

  test('after a restore, every restored key is found past the cache', async () => {
    const a = lmdb()
    const b = lmdb()
    try {
      const s = a.getState(new ValueStateDescriptor<number>('count', 0))
      for (let k = 0; k < 300; k++) {
        a.setCurrentKey(k % 2 === 0 ? k : [k, 'composite'])
        s.update(k + 1)
      }
      const snapshot = throughCodec(await a.materializeSnapshot(a.captureSnapshot(1, { savepoint: true })))
      b.restore(snapshot, { start: 0, end: 127 })
      const r = b.getState(new ValueStateDescriptor<number>('count', 0))
      for (let k = 0; k < 300; k++) {
        b.setCurrentKey(k % 2 === 0 ? k : [k, 'composite'])
        assert.equal(r.value(), k + 1, `key ${k}`)
      }
    } finally {
      a.dispose()
      b.dispose()
    }
  })
})
