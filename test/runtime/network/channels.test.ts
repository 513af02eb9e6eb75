// Channels: records and watermarks keep their order through batches and the credit backlog, and
// the metrics count records, not the slots of the flat (record, timestamp) pairs nor watermarks.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LocalChannel } from '../../../src/runtime/network/channels.ts'
import { WATERMARK_TAG } from '../../../src/runtime/network/events.ts'

/** Everything the receiver gets, in order: `r<value>@<ts>`, `wm<time>` or the event type; credit goes back after each batch. */
function drain(channel: LocalChannel): string[] {
  const seen: string[] = []
  while (channel.input.hasItems()) {
    const item = channel.input.take()
    if (!Array.isArray(item)) {
      seen.push(item.type)
      continue
    }
    for (let i = 0; i < item.length; i += 2) seen.push(item[i + 1] === WATERMARK_TAG ? `wm${item[i]}` : `r${item[i]}@${item[i + 1]}`)
    channel.input.release(item)
  }
  return seen
}

test('records sent count records only: two slots per pair, watermarks left out', () => {
  const c = new LocalChannel(0, 1, 4, 2)
  c.output.add('a', 1)
  c.output.add('b', 2)
  c.output.addWatermark(1)
  c.output.add('c', 3)
  c.output.add('d', 4)
  c.output.addWatermark(3)
  c.output.flush()
  assert.equal(c.output.recordsSent, 4)
  assert.deepEqual(drain(c), ['ra@1', 'rb@2', 'wm1', 'rc@3', 'rd@4', 'wm3'])
})

test('without credit, batches and the watermarks in them wait in order, and events queue behind them', () => {
  const c = new LocalChannel(0, 1, 2, 1)
  c.output.add('a', 1)
  c.output.add('b', 2)
  c.output.addWatermark(2)
  c.output.add('c', 5)
  c.output.sendEvent({ type: 'end-of-partition' })
  assert.ok(c.output.isBlocked(), 'the second batch waits for credit')
  assert.deepEqual(drain(c), ['ra@1', 'rb@2', 'wm2', 'rc@5', 'end-of-partition'])
  assert.ok(!c.output.isBlocked())
  assert.equal(c.output.recordsSent, 3)
})

test('reused batch arrays come back with no records left in them, part-full batches carry exactly their records, and order holds', () => {
  const c = new LocalChannel(0, 1, 4, 2)
  const batches = new Set<unknown[]>()
  const expected: string[] = []
  const seen: string[] = []
  let n = 0
  const receive = (): void => {
    while (c.input.hasItems()) {
      const item = c.input.take()
      if (!Array.isArray(item)) {
        seen.push(item.type)
        continue
      }
      assert.ok(item.length > 0 && item.length <= 8 && item.length % 2 === 0, `a batch of ${item.length} slots`)
      batches.add(item)
      for (let i = 0; i < item.length; i += 2) seen.push(item[i + 1] === WATERMARK_TAG ? `wm${item[i]}` : `r${item[i]}@${item[i + 1]}`)
      c.input.release(item)
      assert.ok(item.every((v) => v === undefined), 'a returned batch holds no records')
    }
  }
  for (let round = 0; round < 60; round++) {
    for (let i = 0; i < (round % 9) + 1; i++) {
      c.output.add(`x${n}`, n)
      expected.push(`rx${n}@${n}`)
      n++
    }
    if (round % 4 === 0) {
      c.output.addWatermark(n)
      expected.push(`wm${n}`)
    }
    if (round % 3 === 0) c.output.flush()
    receive()
  }
  c.output.flush()
  receive()
  assert.deepEqual(seen, expected)
  assert.equal(c.output.recordsSent, n)
  // A few arrays carry every batch: they are reused, not made anew.
  assert.ok(batches.size <= 4, `${batches.size} arrays carried the batches`)

  // An unaligned barrier's in-flight records are the pending pairs, exactly.
  c.output.add('p', 1)
  c.output.add('q', 2)
  c.output.addWatermark(2)
  assert.deepEqual(c.output.sendPriorityEvent({ type: 'watermark-status', idle: false }), ['p', 1, 'q', 2, 2, WATERMARK_TAG])
  c.output.flush()
  seen.length = 0
  receive()
  assert.deepEqual(seen, ['watermark-status', 'rp@1', 'rq@2', 'wm2'])
})
