// The data-plane framer: frames survive any split of the byte stream into chunks, and each
// way a header can be wrong is refused with its own reason.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FrameDecoder, FrameError, FrameKind, encodeFrame, FRAME_HEADER_BYTES } from '../../../src/runtime/network/frame-codec.ts'
import { SeededRandom } from '../../../src/testing/random.ts'

function collect(): { frames: Array<[number, number, number[]]>; decoder: (max?: number) => FrameDecoder } {
  const frames: Array<[number, number, number[]]> = []
  return { frames, decoder: (max) => new FrameDecoder((k, c, p) => frames.push([k, c, Array.from(p)]), max) }
}

test('frames come out whole and in order however the stream is cut into chunks', () => {
  const seed = 42
  const random = new SeededRandom(seed)
  const sent: Array<[number, number, number[]]> = []
  const parts: Buffer[] = []
  for (let i = 0; i < 300; i++) {
    const payload = Array.from({ length: random.int(0, i % 50 === 0 ? 200_000 : 300) }, (_, j) => (i + j) & 0xff)
    sent.push([FrameKind.Data, i, payload])
    parts.push(encodeFrame(FrameKind.Data, i, Uint8Array.from(payload)))
  }
  const stream = Buffer.concat(parts)
  for (const maxChunk of [1, 7, 13, 4096, 70_000]) {
    const { frames, decoder } = collect()
    const d = decoder()
    for (let off = 0; off < stream.length;) {
      const n = maxChunk === 1 ? 1 : random.int(1, maxChunk)
      d.push(stream.subarray(off, off + n))
      off += n
    }
    d.end()
    assert.deepEqual(frames, sent, `seed ${seed}, chunks up to ${maxChunk} bytes`)
  }
})

test('each malformed header is refused with its own reason and the decoder stays failed', () => {
  const cases: Array<[string, (f: Buffer) => void, RegExp]> = [
    ['foreign bytes', (f) => (f[4] = 0x47), /not a Weir data-plane frame/],
    ['wrong version', (f) => (f[5] = 2), /version 2; this TaskManager speaks version 1/],
    ['unknown kind', (f) => (f[6] = 0), /unknown kind 0/],
    ['short length', (f) => f.writeUInt32LE(3, 0), /shorter than its header/],
    ['oversized', (f) => f.writeUInt32LE(2_000_000, 0), /oversized frame/],
    ['credit of wrong size', (f) => (f[6] = FrameKind.Credit), /malformed credit frame/],
  ]
  for (const [name, spoil, reason] of cases) {
    const { frames, decoder } = collect()
    const d = decoder(1 << 20)
    const bad = encodeFrame(FrameKind.Data, 1, Uint8Array.of(1, 2, 3, 4, 5, 6))
    spoil(bad)
    assert.throws(() => d.push(bad), (e: Error) => e instanceof FrameError && reason.test(e.message), name)
    assert.throws(() => d.push(encodeFrame(FrameKind.Data, 1, Uint8Array.of(1))), FrameError, `${name}: stays failed`)
    assert.equal(frames.length, 0)
  }
})

test('a stream that stops inside a header or a payload is truncated; between frames it is not', () => {
  const frame = encodeFrame(FrameKind.Data, 1, new Uint8Array(40))
  for (const cut of [3, FRAME_HEADER_BYTES + 5]) {
    const d = collect().decoder()
    d.push(frame.subarray(0, cut))
    assert.throws(() => d.end(), /truncated frame/)
  }
  const d = collect().decoder()
  d.push(frame)
  d.end()
})
