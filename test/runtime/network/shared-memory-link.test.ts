import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRing, createSlotRings, SharedMemoryLink, SharedMemoryTransport } from '../../../src/runtime/network/shared-memory-link.ts'
import { runPeerLinkContract } from './peer-link.contract.ts'
import type { PeerLinkHandler } from '../../../src/runtime/network/transport.ts'
import type { WeirError } from '../../../src/errors.ts'

// Slot 0 (A) and slot 1 (B), joined by two rings as the JobManager joins them. Small rings, so
// that the contract's bursts and its 1 MiB batch go through the full-ring and split paths.
runPeerLinkContract('shared-memory', async (handlerOfA, handlerOfB) => {
  const rings = createSlotRings(2, 16 * 1024)
  const a = new SharedMemoryTransport(rings[0]!).open(handlerOfA).get(1)!
  const b = new SharedMemoryTransport(rings[1]!).open(handlerOfB).get(0)!
  return {
    a, b,
    close: () => {
      a.close()
      b.close()
    },
  }
})

test('shared-memory: a malformed frame fails the link once, naming the peer', async () => {
  const ring = createRing(4096)
  const failures: WeirError[] = []
  let resolve!: () => void
  const failed = new Promise<void>((r) => (resolve = r))
  const handler: PeerLinkHandler = {
    onData: () => assert.fail('no data expected'),
    onEvent: () => assert.fail('no event expected'),
    onCredit: () => assert.fail('no credit expected'),
    onLinkFailed: (_peer, error) => {
      failures.push(error)
      resolve()
    },
  }
  const link = new SharedMemoryTransport(new Map([[3, { outgoing: createRing(4096), incoming: ring }]])).open(handler).get(3)!
  // A frame of an unknown kind (9), written by hand.
  const words = new DataView(ring, 16)
  words.setUint32(0, 0, true)
  words.setUint32(4, 9 << 24, true)
  const header = new Int32Array(ring, 0, 4)
  Atomics.store(header, 0, 8)
  Atomics.notify(header, 0)
  await failed
  link.close()
  assert.equal(failures.length, 1)
  assert.equal(failures[0]!.code, 'WEIR_NETWORK_FRAME_INVALID')
  assert.match(failures[0]!.message, /slot 3/)
})

test('shared-memory: frames wait in order while the ring is full and go once the receiver frees space', async () => {
  const ring = createRing(4096)
  const sender = new SharedMemoryLink(ring)
  // No receiver yet: 40 frames of 500 bytes overflow a 4 KiB ring.
  for (let i = 0; i < 40; i++) sender.sendData(i, new Uint8Array(500).fill(i))
  const got: number[] = []
  let resolve!: () => void
  const all = new Promise<void>((r) => (resolve = r))
  const transport = new SharedMemoryTransport(new Map([[1, { outgoing: createRing(4096), incoming: ring }]]))
  const link = transport.open({
    onData: (channel, bytes) => {
      assert.ok(bytes.every((x) => x === channel))
      got.push(channel)
      if (got.length === 40) resolve()
    },
    onEvent: () => {},
    onCredit: () => {},
    onLinkFailed: (_p, e) => assert.fail(e),
  }).get(1)!
  await all
  link.close()
  sender.close()
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i))
})

test('shared-memory: a frame whose wake-up is lost is still delivered, by the parked receiver looking again itself', { timeout: 30_000 }, async () => {
  const ring = createRing(4096)
  let resolve!: (bytes: Uint8Array) => void
  const got = new Promise<Uint8Array>((r) => (resolve = r))
  const handler: PeerLinkHandler = {
    onData: (_channel, bytes) => resolve(bytes.slice()),
    onEvent: () => assert.fail('no event expected'),
    onCredit: () => assert.fail('no credit expected'),
    onLinkFailed: (_peer, error) => assert.fail(error.message),
  }
  // A slot's loop stays alive on its port to the TaskManager; here this timer stands in for it.
  const keepAlive = setInterval(() => {}, 1000)
  const link = new SharedMemoryTransport(new Map([[1, { outgoing: createRing(4096), incoming: ring }]])).open(handler).get(1)!
  // Let the receiver park on the empty ring.
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  // A data frame (channel 5, 3 bytes) written by hand, and the write counter moved without
  // Atomics.notify: the wake-up that a worker's idle loop sometimes never runs.
  const words = new DataView(ring, 16)
  words.setUint32(0, 3, true)
  words.setUint32(4, (1 << 24) | 5, true)
  new Uint8Array(ring, 16 + 8, 3).set([7, 8, 9])
  Atomics.store(new Int32Array(ring, 0, 4), 0, 16)
  assert.deepEqual([...(await got)], [7, 8, 9])
  link.close()
  clearInterval(keepAlive)
})

test('shared-memory: a sender waiting for space goes on when space is freed without a wake-up', { timeout: 30_000 }, async () => {
  const ring = createRing(4096)
  const keepAlive = setInterval(() => {}, 1000)
  const sender = new SharedMemoryLink(ring)
  // 3 KiB fill the ring with no receiver; the next 2 KiB wait in the sender's queue.
  sender.sendData(1, new Uint8Array(3000).fill(1))
  sender.sendData(2, new Uint8Array(2000).fill(2))
  const header = new Int32Array(ring, 0, 4)
  const written = Atomics.load(header, 0)
  assert.ok(written > 0 && written < 4096, 'the first frame is in the ring, the second is not')
  // A receiver that frees the first frame's space by hand, without Atomics.notify.
  Atomics.store(header, 1, written)
  while (Atomics.load(header, 0) === written) await new Promise((r) => setTimeout(r, 1)) // a wait for the condition; the test's timeout bounds it
  // The 2 KiB frame does not fit before the ring's end: padding fills the rest, and it starts at 0.
  const words = new DataView(ring, 16)
  assert.equal(Atomics.load(header, 0), written + (4096 - written) + 2008)
  assert.equal(words.getUint32(0, true), 2000)
  assert.equal(words.getUint32(4, true), (1 << 24) | 2)
  sender.close()
  clearInterval(keepAlive)
})
