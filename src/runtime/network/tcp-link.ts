// PeerLink over TCP: the transport between slots on different TaskManagers. One connection per
// pair of slots carries both directions; the slot with the lower index dials, the other
// accepts on its data port and learns who called from the first frame (HELLO: attempt and slot
// indexes). Frames are the hand-written length-prefixed ones of frame-codec.ts.
//
// Writes: small frames of one turn of the slot's loop share a 64 KiB chunk and go out in one
// socket write after the turn (setImmediate); a large frame first flushes the chunk, so the
// order of frames is kept. No back-pressure here: the channels' credits bound what is in
// flight (at most credits-per-channel batches per channel), hence what the socket buffers hold.
//
// A connection that breaks, or a frame that fails validation, fails the link once (the
// JobManager restarts the attempt) and closes the socket; a connection that never introduced
// itself correctly is closed with a logged reason and changes nothing else.

import { createServer, connect, type Server, type Socket } from 'node:net'
import { WeirError } from '../../errors.ts'
import type { ChannelEvent } from './events.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from './transport.ts'
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameDecoder, FrameError, FrameKind, encodeFrame, writeFrameHeader } from './frame-codec.ts'

const CHUNK_BYTES = 64 * 1024

export interface TcpTransportOptions {
  /** The attempt both ends belong to; a connection from another attempt is refused. */
  readonly attemptId: string
  /** This slot's global index. */
  readonly slot: number
  /** The global indexes of the peer slots reached over TCP. */
  readonly peers: readonly number[]
  readonly maxFrameBytes?: number
  /** Where reasons for closed connections go (default: stderr). */
  readonly log?: (line: string) => void
}

interface Hello {
  readonly attemptId: string
  readonly from: number
  readonly to: number
}

/** Serializes frames to one socket, coalescing small ones within a turn. */
class FrameWriter {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES)
  private used = 0
  private scheduled = false
  private target: Socket | null = null
  /** Frames written before the socket is known (the accepting side waits for HELLO). */
  private readonly early: Buffer[] = []
  private closed = false

  attach(socket: Socket): void {
    this.target = socket
    for (const b of this.early.splice(0)) socket.write(b)
    this.flush()
  }

  close(): void {
    this.closed = true
    this.early.length = 0
  }

  frame(kind: FrameKind, channel: number, payload: Uint8Array): void {
    if (this.closed) return
    const size = FRAME_HEADER_BYTES + payload.length
    if (size > CHUNK_BYTES - this.used) {
      this.flush()
      if (size > CHUNK_BYTES) {
        const own = Buffer.allocUnsafe(size)
        writeFrameHeader(own, 0, kind, channel, payload.length)
        own.set(payload, FRAME_HEADER_BYTES)
        this.out(own)
        return
      }
    }
    writeFrameHeader(this.chunk, this.used, kind, channel, payload.length)
    this.chunk.set(payload, this.used + FRAME_HEADER_BYTES)
    this.used += size
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushLater)
    }
  }

  credit(channel: number, credits: number): void {
    if (this.closed) return
    if (CHUNK_BYTES - this.used < FRAME_HEADER_BYTES + 4) this.flush()
    writeFrameHeader(this.chunk, this.used, FrameKind.Credit, channel, 4)
    this.chunk.writeUInt32LE(credits, this.used + FRAME_HEADER_BYTES)
    this.used += FRAME_HEADER_BYTES + 4
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushLater)
    }
  }

  private readonly flushLater = (): void => {
    this.scheduled = false
    this.flush()
  }

  flush(): void {
    if (this.used === 0 || this.closed) return
    // The socket keeps the written buffer until it is sent: hand it over and start a new chunk.
    const full = this.chunk.subarray(0, this.used)
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES)
    this.used = 0
    this.out(full)
  }

  private out(buffer: Buffer): void {
    if (this.target) this.target.write(buffer)
    else this.early.push(buffer)
  }
}

export class TcpPeerLink implements PeerLink {
  readonly writer = new FrameWriter()
  private readonly encoder = new TextEncoder()
  socket: Socket | null = null
  failed = false

  constructor(readonly peer: number) {}

  sendData(channel: number, bytes: Uint8Array): void {
    this.writer.frame(FrameKind.Data, channel, bytes)
  }
  sendEvent(channel: number, event: ChannelEvent): void {
    this.writer.frame(FrameKind.Event, channel, this.encoder.encode(JSON.stringify(event)))
  }
  sendCredit(channel: number, credits: number): void {
    this.writer.credit(channel, credits)
  }
  close(): void {
    this.writer.flush()
    this.writer.close()
    this.failed = true // nothing is reported after close
    this.socket?.end()
  }
}

/**
 * The TCP links of one slot. It listens on its data port for the peers with a lower index and
 * dials those with a higher one (`connect`, once the JobManager knows every slot's address).
 * Links are usable at once: frames sent before the connection stands wait in order.
 */
export class TcpSlotTransport implements SlotTransport {
  private server: Server | null = null
  private readonly links = new Map<number, TcpPeerLink>()
  private handler: PeerLinkHandler | null = null
  private readonly sockets = new Set<Socket>()
  private readonly log: (line: string) => void
  private readonly maxFrameBytes: number

  constructor(private readonly options: TcpTransportOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    for (const p of options.peers) this.links.set(p, new TcpPeerLink(p))
  }

  /** Binds the data port (port 0: any free one) and returns the address peers dial. */
  listen(host: string, port = 0): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket))
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        server.on('error', (e) => this.log(`data plane of slot ${this.options.slot}: ${e.message}`))
        this.server = server
        const address = server.address()
        resolve({ host, port: typeof address === 'object' && address ? address.port : port })
      })
    })
  }

  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink> {
    this.handler = handler
    return this.links
  }

  /** Dials every peer with a higher index than this slot, at the addresses the JobManager collected. */
  connect(addresses: ReadonlyMap<number, { host: string; port: number }>): void {
    for (const link of this.links.values()) {
      if (link.peer < this.options.slot) continue
      const address = addresses.get(link.peer)
      if (!address) {
        this.fail(link, new WeirError('WEIR_NETWORK_LINK_LOST', `no data address for slot ${link.peer}`, { retriable: true }))
        continue
      }
      const socket = connect({ host: address.host, port: address.port, noDelay: true })
      this.track(socket)
      socket.write(encodeFrame(FrameKind.Hello, 0, new TextEncoder().encode(JSON.stringify({ attemptId: this.options.attemptId, from: this.options.slot, to: link.peer } satisfies Hello))))
      this.bind(link, socket, new FrameDecoder((kind, channel, payload) => this.onFrame(link, kind, channel, payload), this.maxFrameBytes))
    }
  }

  close(): void {
    for (const link of this.links.values()) link.close()
    for (const s of this.sockets) s.destroy()
    this.server?.close()
    this.server = null
  }

  private track(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  /** An incoming connection: its first frame must be a HELLO naming this attempt and slot. */
  private accept(socket: Socket): void {
    this.track(socket)
    socket.setNoDelay(true)
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    let link: TcpPeerLink | null = null
    let decoder!: FrameDecoder
    const refuse = (reason: string) => {
      this.log(`data plane of slot ${this.options.slot}: closed the connection from ${remote}: ${reason}`)
      socket.destroy()
    }
    decoder = new FrameDecoder((kind, channel, payload) => {
      if (link) return this.onFrame(link, kind, channel, payload)
      if (kind !== FrameKind.Hello) throw new FrameError(`the first frame was of kind ${kind}, expected HELLO`)
      const hello = parseHello(payload)
      if (!hello) throw new FrameError('malformed HELLO frame')
      if (hello.attemptId !== this.options.attemptId) throw new FrameError(`HELLO for attempt ${hello.attemptId}, this slot runs ${this.options.attemptId}`)
      const candidate = this.links.get(hello.from)
      if (hello.to !== this.options.slot || !candidate || hello.from >= this.options.slot) throw new FrameError(`HELLO from slot ${hello.from} to slot ${hello.to} does not match this slot (${this.options.slot})`)
      if (candidate.socket) throw new FrameError(`slot ${hello.from} is already connected`)
      link = candidate
      link.socket = socket
      link.writer.attach(socket)
    }, this.maxFrameBytes)
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk)
      } catch (e) {
        if (link) this.fail(link, invalid(e, link.peer))
        else refuse((e as Error).message)
      }
    })
    socket.on('end', () => {
      try {
        decoder.end()
      } catch (e) {
        if (!link) return refuse((e as Error).message)
        return this.fail(link, invalid(e, link.peer))
      }
      if (link) this.fail(link, new WeirError('WEIR_NETWORK_LINK_LOST', `slot ${link.peer} closed its connection`, { retriable: true, domain: 'external' }))
    })
    socket.on('error', (e) => {
      if (link) this.fail(link, new WeirError('WEIR_NETWORK_LINK_LOST', `connection to slot ${link.peer} failed: ${e.message}`, { cause: e, retriable: true, domain: 'external' }))
    })
  }

  private bind(link: TcpPeerLink, socket: Socket, decoder: FrameDecoder): void {
    link.socket = socket
    link.writer.attach(socket)
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk)
      } catch (e) {
        this.fail(link, invalid(e, link.peer))
      }
    })
    socket.on('end', () => {
      try {
        decoder.end()
      } catch (e) {
        return this.fail(link, invalid(e, link.peer))
      }
      this.fail(link, new WeirError('WEIR_NETWORK_LINK_LOST', `slot ${link.peer} closed its connection`, { retriable: true, domain: 'external' }))
    })
    socket.on('error', (e) => this.fail(link, new WeirError('WEIR_NETWORK_LINK_LOST', `connection to slot ${link.peer} failed: ${e.message}`, { cause: e, retriable: true, domain: 'external' })))
  }

  private onFrame(link: TcpPeerLink, kind: FrameKind, channel: number, payload: Uint8Array): void {
    if (link.failed) return
    const handler = this.handler!
    switch (kind) {
      case FrameKind.Data:
        handler.onData(channel, payload)
        return
      case FrameKind.Event: {
        const event = parseEvent(payload)
        if (!event) throw new FrameError(`malformed event frame on channel ${channel}`)
        handler.onEvent(channel, event)
        return
      }
      case FrameKind.Credit:
        handler.onCredit(channel, new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true))
        return
      default:
        throw new FrameError(`unexpected frame of kind ${kind} on an established link`)
    }
  }

  private fail(link: TcpPeerLink, error: WeirError): void {
    if (link.failed) return
    link.failed = true
    link.writer.close()
    this.log(`data plane of slot ${this.options.slot}: link to slot ${link.peer} closed: ${error.message}`)
    link.socket?.destroy()
    this.handler?.onLinkFailed(link.peer, error)
  }
}

function invalid(e: unknown, peer: number): WeirError {
  if (e instanceof WeirError) return e
  return new WeirError('WEIR_NETWORK_FRAME_INVALID', `invalid frame from slot ${peer}: ${(e as Error).message}`, { cause: e, retriable: true, domain: 'external' })
}

const decoder = new TextDecoder()

function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(payload))
  } catch {
    return undefined
  }
}

function parseHello(payload: Uint8Array): Hello | null {
  const h = parseJson(payload) as Partial<Hello> | undefined
  if (!h || typeof h !== 'object' || typeof h.attemptId !== 'string' || !Number.isSafeInteger(h.from) || !Number.isSafeInteger(h.to)) return null
  return h as Hello
}

/** Validates an event from the wire: only the shapes of events.ts pass. */
export function parseEvent(payload: Uint8Array): ChannelEvent | null {
  const e = parseJson(payload) as Record<string, unknown> | undefined
  if (!e || typeof e !== 'object') return null
  if (e.type === 'end-of-partition') return { type: 'end-of-partition' }
  if (e.type === 'barrier') {
    if (!Number.isSafeInteger(e.id) || typeof e.timestamp !== 'number' || typeof e.isSavepoint !== 'boolean' || typeof e.unaligned !== 'boolean') return null
    if (e.savepointDir !== undefined && typeof e.savepointDir !== 'string') return null
    if (e.stop !== undefined && typeof e.stop !== 'boolean') return null
    return e as unknown as ChannelEvent
  }
  if (e.type === 'watermark-status') return typeof e.idle === 'boolean' ? { type: 'watermark-status', idle: e.idle } : null
  // Another kind of event of this same frame version (events.ts grows: watermarks): passed on
  // as it came; the channels ignore what they do not know.
  if (typeof e.type === 'string') return e as unknown as ChannelEvent
  return null
}
