// The TCP PeerLink: the shared contract, then what only a socket can get wrong: frames that
// fail validation, connections from strangers, a peer that disappears.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { TcpSlotTransport } from '../../../src/runtime/network/tcp-link.ts'
import { encodeFrame, FrameKind, FRAME_HEADER_BYTES, writeFrameHeader } from '../../../src/runtime/network/frame-codec.ts'
import type { PeerLinkHandler } from '../../../src/runtime/network/transport.ts'
import type { WeirError } from '../../../src/errors.ts'
import { runPeerLinkContract } from './peer-link.contract.ts'

const ATTEMPT = 'job/0'

// Slot 0 (A) dials slot 1 (B) on loopback, as two TaskManagers' slots do.
runPeerLinkContract('tcp', async (handlerOfA, handlerOfB) => {
  const ta = new TcpSlotTransport({ attemptId: ATTEMPT, slot: 0, peers: [1], log: () => {} })
  const tb = new TcpSlotTransport({ attemptId: ATTEMPT, slot: 1, peers: [0], log: () => {} })
  const address = await tb.listen('127.0.0.1')
  const a = ta.open(handlerOfA).get(1)!
  const b = tb.open(handlerOfB).get(0)!
  ta.connect(new Map([[1, address]]))
  return {
    a, b,
    close: () => {
      ta.close()
      tb.close()
    },
  }
})

class Failures implements PeerLinkHandler {
  readonly errors: WeirError[] = []
  readonly data: number[] = []
  private wake: (() => void) | null = null
  onData(channel: number): void {
    this.data.push(channel)
    this.wake?.()
  }
  onEvent(): void {}
  onCredit(): void {}
  onLinkFailed(_peer: number, error: WeirError): void {
    this.errors.push(error)
    this.wake?.()
  }
  async until(probe: () => boolean): Promise<void> {
    while (!probe()) await new Promise<void>((r) => (this.wake = r))
  }
}

/** A raw socket that introduces itself as slot 0 of the attempt to a listening slot 1. */
async function rawPeer(opts: { maxFrameBytes?: number } = {}): Promise<{ socket: Socket; handler: Failures; logs: string[]; closed: Promise<void>; transport: TcpSlotTransport }> {
  const logs: string[] = []
  const transport = new TcpSlotTransport({ attemptId: ATTEMPT, slot: 1, peers: [0], log: (l) => logs.push(l), maxFrameBytes: opts.maxFrameBytes })
  const handler = new Failures()
  transport.open(handler)
  const { port } = await transport.listen('127.0.0.1')
  const socket = connect({ host: '127.0.0.1', port })
  const closed = new Promise<void>((r) => socket.once('close', () => r()))
  socket.on('error', () => {})
  socket.write(encodeFrame(FrameKind.Hello, 0, new TextEncoder().encode(JSON.stringify({ attemptId: ATTEMPT, from: 0, to: 1 }))))
  return { socket, handler, logs, closed, transport }
}

function dataFrame(channel: number, payload: Uint8Array): Buffer {
  return encodeFrame(FrameKind.Data, channel, payload)
}

test('a frame of another version fails the link with a reason naming both versions, and closes the connection', async () => {
  const { socket, handler, logs, closed, transport } = await rawPeer()
  const frame = dataFrame(2, Uint8Array.of(1, 2, 3))
  frame[5] = 9
  socket.write(Buffer.concat([dataFrame(1, Uint8Array.of(7)), frame]))
  await handler.until(() => handler.errors.length === 1)
  await closed
  assert.deepEqual(handler.data, [1])
  assert.equal(handler.errors[0]!.code, 'WEIR_NETWORK_FRAME_INVALID')
  assert.match(handler.errors[0]!.message, /version 9; this TaskManager speaks version 1/)
  assert.ok(logs.some((l) => /link to slot 0 closed/.test(l)))
  transport.close()
})

test('an oversized frame is refused from its header, before its bytes arrive', async () => {
  const { socket, handler, closed, transport } = await rawPeer({ maxFrameBytes: 1024 })
  const header = Buffer.alloc(FRAME_HEADER_BYTES)
  writeFrameHeader(header, 0, FrameKind.Data, 3, 10_000_000)
  socket.write(header)
  await handler.until(() => handler.errors.length === 1)
  await closed
  assert.match(handler.errors[0]!.message, /oversized frame: 10000012 bytes, more than the limit of 1024/)
  transport.close()
})

test('a connection that ends inside a frame is a truncated frame', async () => {
  const { socket, handler, transport } = await rawPeer()
  const frame = dataFrame(4, new Uint8Array(100))
  socket.end(frame.subarray(0, 60))
  await handler.until(() => handler.errors.length === 1)
  assert.match(handler.errors[0]!.message, /truncated frame/)
  transport.close()
})

test('a malformed event and an unknown kind are refused', async () => {
  for (const bad of [encodeFrame(FrameKind.Event, 1, new TextEncoder().encode('{"type":"barrier","id":"x"}')), (() => {
    const f = dataFrame(1, Uint8Array.of(1))
    f[6] = 77
    return f
  })()]) {
    const { socket, handler, closed, transport } = await rawPeer()
    socket.write(bad)
    await handler.until(() => handler.errors.length === 1)
    await closed
    assert.match(handler.errors[0]!.message, /malformed event frame|unknown kind 77/)
    transport.close()
  }
})

test('a stranger (no HELLO, wrong attempt, garbage) is closed with a logged reason and fails nothing', async () => {
  const logs: string[] = []
  const transport = new TcpSlotTransport({ attemptId: ATTEMPT, slot: 1, peers: [0], log: (l) => logs.push(l) })
  const handler = new Failures()
  transport.open(handler)
  const { port } = await transport.listen('127.0.0.1')
  const attempts = [
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    encodeFrame(FrameKind.Hello, 0, new TextEncoder().encode(JSON.stringify({ attemptId: 'other/3', from: 0, to: 1 }))),
    dataFrame(1, Uint8Array.of(1)),
  ]
  for (const bytes of attempts) {
    const socket = connect({ host: '127.0.0.1', port })
    socket.on('error', () => {})
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.write(bytes)
    await closed
  }
  assert.equal(logs.length, 3)
  assert.match(logs[0]!, /not a Weir data-plane frame/)
  assert.match(logs[1]!, /HELLO for attempt other\/3/)
  assert.match(logs[2]!, /expected HELLO/)
  assert.equal(handler.errors.length, 0)
  transport.close()
})

test('a peer that goes away fails the link once with WEIR_NETWORK_LINK_LOST', async () => {
  const { socket, handler, transport } = await rawPeer()
  socket.write(dataFrame(5, Uint8Array.of(1)))
  await handler.until(() => handler.data.length === 1)
  socket.destroy()
  await handler.until(() => handler.errors.length >= 1)
  await new Promise((r) => setImmediate(r))
  assert.equal(handler.errors.length, 1)
  assert.equal(handler.errors[0]!.code, 'WEIR_NETWORK_LINK_LOST')
  transport.close()
})
