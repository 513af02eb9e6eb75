// The contract every PeerLink implementation meets (src/runtime/network/transport.ts): a
// MessagePort between threads, shared-memory rings, TCP between processes. Each
// implementation's test file runs it with a factory that connects two endpoints, A and B:
//
//   runPeerLinkContract('message-port', async () => { ...; return { a, b, close } })
//
// `a` sends to B's handler and `b` to A's; the factory wires the handlers it is given.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { PeerLink, PeerLinkHandler } from '../../../src/runtime/network/transport.ts'
import type { ChannelEvent } from '../../../src/runtime/network/events.ts'
import type { WeirError } from '../../../src/errors.ts'

export interface LinkPair {
  /** A's link to B. */
  readonly a: PeerLink
  /** B's link to A. */
  readonly b: PeerLink
  /** Tears down both ends (and whatever the factory started). */
  close(): Promise<void> | void
}

/** Connects two endpoints whose incoming frames go to the given handlers. */
export type LinkPairFactory = (handlerOfA: PeerLinkHandler, handlerOfB: PeerLinkHandler) => Promise<LinkPair>

type Frame = { kind: 'data'; channel: number; bytes: number[] } | { kind: 'event'; channel: number; event: ChannelEvent } | { kind: 'credit'; channel: number; credits: number }

/** Records what arrives, copying bytes during the call (they are only valid then). */
class RecordingHandler implements PeerLinkHandler {
  readonly frames: Frame[] = []
  readonly failures: WeirError[] = []
  private waiters: Array<() => void> = []
  onData(channel: number, bytes: Uint8Array): void {
    this.push({ kind: 'data', channel, bytes: Array.from(bytes) })
  }
  onEvent(channel: number, event: ChannelEvent): void {
    this.push({ kind: 'event', channel, event })
  }
  onCredit(channel: number, credits: number): void {
    this.push({ kind: 'credit', channel, credits })
  }
  onLinkFailed(_peer: number, error: WeirError): void {
    this.failures.push(error)
    this.wakeAll()
  }
  private push(f: Frame): void {
    this.frames.push(f)
    this.wakeAll()
  }
  private wakeAll(): void {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }
  /** Resolves when `n` frames have arrived (no timing: the test runner's timeout bounds it). */
  async waitFor(n: number): Promise<void> {
    while (this.frames.length < n) await new Promise<void>((resolve) => this.waiters.push(resolve))
  }
}

export function runPeerLinkContract(name: string, connect: LinkPairFactory): void {
  async function withPair(fn: (pair: LinkPair, atA: RecordingHandler, atB: RecordingHandler) => Promise<void>): Promise<void> {
    const atA = new RecordingHandler()
    const atB = new RecordingHandler()
    const pair = await connect(atA, atB)
    try {
      await fn(pair, atA, atB)
    } finally {
      await pair.close()
    }
  }

  test(`${name}: data, events and credits arrive in the order sent, per link`, async () => {
    await withPair(async ({ a }, _atA, atB) => {
      const barrier: ChannelEvent = { type: 'barrier', id: 7, timestamp: 123, isSavepoint: false, unaligned: false }
      const expected: Frame[] = []
      for (let i = 0; i < 200; i++) {
        const channel = i % 5
        if (i % 17 === 0) {
          a.sendEvent(channel, barrier)
          expected.push({ kind: 'event', channel, event: barrier })
        } else if (i % 11 === 0) {
          a.sendCredit(channel, 1 + (i % 3))
          expected.push({ kind: 'credit', channel, credits: 1 + (i % 3) })
        } else {
          const bytes = Uint8Array.from({ length: 1 + (i % 40) }, (_, j) => (i * 31 + j) & 0xff)
          a.sendData(channel, bytes)
          expected.push({ kind: 'data', channel, bytes: Array.from(bytes) })
        }
      }
      a.sendEvent(0, { type: 'end-of-partition' })
      expected.push({ kind: 'event', channel: 0, event: { type: 'end-of-partition' } })
      await atB.waitFor(expected.length)
      assert.deepEqual(atB.frames, expected)
      assert.equal(atB.failures.length, 0)
    })
  })

  test(`${name}: the sender may reuse its buffer as soon as sendData returns`, async () => {
    await withPair(async ({ a }, _atA, atB) => {
      const buffer = new Uint8Array(64)
      for (let round = 0; round < 10; round++) {
        buffer.fill(round)
        a.sendData(1, buffer.subarray(0, 8 + round))
      }
      buffer.fill(0xee)
      await atB.waitFor(10)
      for (let round = 0; round < 10; round++) {
        assert.deepEqual(atB.frames[round], { kind: 'data', channel: 1, bytes: new Array(8 + round).fill(round) })
      }
    })
  })

  test(`${name}: both directions work at once and stay apart`, async () => {
    await withPair(async ({ a, b }, atA, atB) => {
      for (let i = 0; i < 50; i++) {
        a.sendData(3, Uint8Array.of(1, i))
        b.sendCredit(3, i + 1)
      }
      await atB.waitFor(50)
      await atA.waitFor(50)
      assert.ok(atB.frames.every((f, i) => f.kind === 'data' && f.channel === 3 && f.bytes[1] === i))
      assert.ok(atA.frames.every((f, i) => f.kind === 'credit' && f.channel === 3 && f.credits === i + 1))
    })
  })

  test(`${name}: a large batch (1 MiB) arrives whole`, async () => {
    await withPair(async ({ a }, _atA, atB) => {
      const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff)
      a.sendData(9, big)
      await atB.waitFor(1)
      const f = atB.frames[0]!
      assert.equal(f.kind, 'data')
      assert.equal((f as { bytes: number[] }).bytes.length, big.length)
      assert.deepEqual((f as { bytes: number[] }).bytes.slice(0, 1000), Array.from(big.subarray(0, 1000)))
      assert.deepEqual((f as { bytes: number[] }).bytes.slice(-1000), Array.from(big.subarray(big.length - 1000)))
    })
  })
}
