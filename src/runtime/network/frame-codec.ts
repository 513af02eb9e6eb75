// The frames of the TCP data plane and their hand-written length-prefixed codec.
//
// Layout of one frame (little endian), 12 bytes of header then the payload:
//   u32 length   bytes after this field (8 + payload length)
//   u8  magic    0x57 ('W'): anything else is not a Weir data connection
//   u8  version  DATA_PLANE_VERSION: a peer of another version is refused, not misread
//   u8  kind     DATA | EVENT | CREDIT | HELLO
//   u8  flags    0 (reserved)
//   u32 channel  the channel id (0 for HELLO)
//   ...payload   DATA: a serialized batch; EVENT and HELLO: JSON; CREDIT: u32 credits
//
// Why by hand and not a framing or RPC library: this is the hot path of every record that
// crosses TaskManagers. A batch is written as one copy into an outgoing chunk (small frames
// of one turn share a chunk and one socket write), and a frame that arrives whole inside a
// socket chunk is handed to the decoder as a view of that chunk, with no copy and no
// allocation; only frames split across chunks are reassembled, into one reused buffer. The
// stream and message abstractions of libraries allocate per frame and copy again.

export const FRAME_MAGIC = 0x57
export const DATA_PLANE_VERSION = 1
export const FRAME_HEADER_BYTES = 12
/** Default upper bound of one frame: far above any batch, low enough to refuse garbage lengths. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

export const FrameKind = { Data: 1, Event: 2, Credit: 3, Hello: 4 } as const
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

/** Writes a frame header at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, kind: FrameKind, channel: number, payloadBytes: number): void {
  const view = new DataView(target.buffer, target.byteOffset + offset, FRAME_HEADER_BYTES)
  view.setUint32(0, 8 + payloadBytes, true)
  view.setUint8(4, FRAME_MAGIC)
  view.setUint8(5, DATA_PLANE_VERSION)
  view.setUint8(6, kind)
  view.setUint8(7, 0)
  view.setUint32(8, channel, true)
}

/** One whole frame in a fresh buffer (for rare frames: hello, tests). */
export function encodeFrame(kind: FrameKind, channel: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(out, 0, kind, channel, payload.length)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

export type FrameHandler = (kind: FrameKind, channel: number, payload: Uint8Array) => void

/** Why a byte stream is not a valid frame sequence; the connection is then closed. */
export class FrameError extends Error {}

/**
 * Splits a byte stream into frames. `push` each chunk as it arrives; complete frames go to the
 * handler (the payload view is valid only during the call). A malformed header throws
 * FrameError and leaves the decoder failed; `end` throws if the stream stopped inside a frame.
 */
export class FrameDecoder {
  private partial: Buffer = Buffer.allocUnsafe(0)
  private have = 0
  private need = 0
  private failed: FrameError | null = null

  constructor(private readonly onFrame: FrameHandler, private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed
    try {
      this.consume(chunk)
    } catch (e) {
      if (e instanceof FrameError) this.failed = e
      throw e
    }
  }

  /** The stream ended: it must end between frames. */
  end(): void {
    if (this.failed) return
    if (this.have > 0) throw (this.failed = new FrameError(`the connection ended inside a frame (${this.have} of ${this.need || FRAME_HEADER_BYTES} bytes received): truncated frame`))
  }

  private consume(chunk: Uint8Array): void {
    let off = 0
    const n = chunk.length
    while (off < n) {
      if (this.have > 0) {
        if (this.have < FRAME_HEADER_BYTES) {
          const take = Math.min(FRAME_HEADER_BYTES - this.have, n - off)
          this.ensure(FRAME_HEADER_BYTES)
          this.partial.set(chunk.subarray(off, off + take), this.have)
          this.have += take
          off += take
          if (this.have < FRAME_HEADER_BYTES) return
          this.need = this.checkHeader(this.partial, 0)
          this.ensure(this.need)
        }
        const take = Math.min(this.need - this.have, n - off)
        this.partial.set(chunk.subarray(off, off + take), this.have)
        this.have += take
        off += take
        if (this.have < this.need) return
        const total = this.need
        this.have = 0
        this.need = 0
        this.deliver(this.partial, 0, total)
        // Do not keep a buffer that one large frame grew.
        if (this.partial.length > 4 * 1024 * 1024) this.partial = Buffer.allocUnsafe(0)
        continue
      }
      if (n - off < FRAME_HEADER_BYTES) {
        this.ensure(FRAME_HEADER_BYTES)
        this.partial.set(chunk.subarray(off), 0)
        this.have = n - off
        return
      }
      const total = this.checkHeader(chunk, off)
      if (n - off >= total) {
        this.deliver(chunk, off, total)
        off += total
        continue
      }
      this.ensure(total)
      this.partial.set(chunk.subarray(off), 0)
      this.have = n - off
      this.need = total
      return
    }
  }

  /** Validates the header at `off`; returns the frame's total size in bytes. */
  private checkHeader(bytes: Uint8Array, off: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER_BYTES)
    const length = view.getUint32(0, true)
    const magic = view.getUint8(4)
    const version = view.getUint8(5)
    const kind = view.getUint8(6)
    if (magic !== FRAME_MAGIC) throw new FrameError(`not a Weir data-plane frame (first byte of header 0x${magic.toString(16).padStart(2, '0')}, expected 0x57)`)
    if (version !== DATA_PLANE_VERSION) throw new FrameError(`data-plane frame of version ${version}; this TaskManager speaks version ${DATA_PLANE_VERSION} (run the same Weir version on every process)`)
    if (length < 8) throw new FrameError(`malformed frame: length ${length} is shorter than its header`)
    if (length + 4 > this.maxFrameBytes) throw new FrameError(`oversized frame: ${length + 4} bytes, more than the limit of ${this.maxFrameBytes}`)
    if (kind < FrameKind.Data || kind > FrameKind.Hello) throw new FrameError(`malformed frame: unknown kind ${kind}`)
    if (kind === FrameKind.Credit && length !== 12) throw new FrameError(`malformed credit frame: payload of ${length - 8} bytes, expected 4`)
    return length + 4
  }

  private deliver(bytes: Uint8Array, off: number, total: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset + off, FRAME_HEADER_BYTES)
    this.onFrame(view.getUint8(6) as FrameKind, view.getUint32(8, true), bytes.subarray(off + FRAME_HEADER_BYTES, off + total))
  }

  private ensure(size: number): void {
    if (this.partial.length >= size) return
    const grown = Buffer.allocUnsafe(Math.max(size, 64 * 1024))
    grown.set(this.partial.subarray(0, this.have), 0)
    this.partial = grown
  }
}
