// PeerLink over shared memory: the transport between two slots (worker threads) of one process.
// Each direction of a slot pair is one single-producer single-consumer ring in a
// SharedArrayBuffer: the sender writes a frame's bytes straight into the ring (one copy, no
// allocation, no structured clone) and the receiver decodes them in place, then hands the space
// back. Wake-ups use Atomics: the receiver parks on the ring's write counter with
// Atomics.waitAsync (its event loop stays free for the task) and the sender notifies after each
// frame; a sender that finds the ring full keeps its frames in order in a local queue and parks
// on the read counter until the receiver frees space. Sends therefore never block the task.
// A wake-up can be lost: Node resolves a waitAsync through a task V8 posts to the platform, and
// a worker whose loop is idle does not always run it (nodejs/node#44409, #61941; a low-rate job
// at -p 2 lost the other slot's records this way). So a parked end also looks at its counter every
// RECHECK_MS on a timer of the event loop's own, which always runs: a lost wake-up costs at most
// that much latency, never a stall.
//
// Ring layout: 16 bytes of header (Int32: write counter, read counter), then `capacity` bytes
// of frames (a power of two). Counters are byte positions that only grow (wrapping at 2^32);
// a frame starts at `counter & (capacity - 1)`. A frame is 8 header bytes, [u32 length]
// [u8 kind, u24 channel], then `length` payload bytes, padded to 8. A frame never wraps: when it
// does not fit before the end, a PAD frame fills the rest and it starts at 0. Batches larger
// than half the ring go as PART frames followed by the DATA frame with their last bytes; the
// receiver joins them. Events are small JSON documents; a credit frame's length is the credit.

import { WeirError } from '../../errors.ts'
import type { ChannelEvent } from './events.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from './transport.ts'

const WRITE = 0
const READ = 1
const HEADER_BYTES = 16
const FRAME_HEADER = 8
const KIND_DATA = 1
const KIND_EVENT = 2
const KIND_CREDIT = 3
const KIND_PAD = 4
const KIND_PART = 5
const MAX_CHANNEL = 0xffffff

/** How often a parked end looks at its counter itself, in case a wake-up was lost (ms). */
export const RECHECK_MS = 10

/** Default bytes of frames per ring (per direction of a slot pair). */
export const DEFAULT_RING_BYTES = 4 << 20

/** A fresh ring of `capacity` bytes (rounded up to a power of two, at least 4 KiB). */
export function createRing(capacity = DEFAULT_RING_BYTES): SharedArrayBuffer {
  let cap = 4096
  while (cap < capacity) cap *= 2
  return new SharedArrayBuffer(HEADER_BYTES + cap)
}

const align8 = (n: number) => (n + 7) & ~7

/** Atomics.waitAsync (Node 16+; the TypeScript lib this project targets predates its typing). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> }
}).waitAsync
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * One end's wait for a counter of its ring to move: Atomics.waitAsync, and the recheck every
 * RECHECK_MS that makes up for a lost wake-up. `wake` runs once per wait, whichever notices first;
 * the late resolution of a wait the recheck already ended is ignored.
 */
class CounterWait {
  private waiting = false
  private value = 0
  /** Numbers the waits: a resolution for an earlier one is stale. */
  private id = 0
  private recheck: NodeJS.Timeout | null = null

  constructor(private readonly header: Int32Array, private readonly index: number, private readonly wake: () => void) {}

  get pending(): boolean {
    return this.waiting
  }

  /** Waits for the counter to leave `value`; false when it already has (nothing to wait for). */
  wait(value: number): boolean {
    const w = waitAsync(this.header, this.index, value)
    if (!w.async) return false
    this.waiting = true
    this.value = value
    const id = ++this.id
    this.recheck ??= setInterval(this.check, RECHECK_MS).unref()
    void w.value.then(() => {
      if (id === this.id && this.waiting) this.fire()
    })
    return true
  }

  /** Ends the wait, if any, without waking. */
  stop(): void {
    this.waiting = false
    this.id++
    if (this.recheck !== null) clearInterval(this.recheck)
    this.recheck = null
  }

  private fire(): void {
    this.waiting = false
    this.id++
    this.wake()
  }

  private readonly check = (): void => {
    if (!this.waiting) {
      // Idle between waits: the next wait starts the timer again.
      if (this.recheck !== null) clearInterval(this.recheck)
      this.recheck = null
    } else if (Atomics.load(this.header, this.index) !== this.value) {
      this.fire()
    }
  }
}

interface QueuedFrame {
  readonly kind: number
  readonly channel: number
  /** Owned copy of the payload, or null (credit). */
  readonly payload: Uint8Array | null
  readonly word: number
}

/** The sending end of one ring. */
export class SharedMemoryLink implements PeerLink {
  private readonly header: Int32Array
  private readonly data: Uint8Array
  private readonly words: DataView
  private readonly capacity: number
  private readonly maxPayload: number
  private readonly queue: QueuedFrame[] = []
  /** For space, while frames are queued: the receiver's read counter. */
  private readonly space: CounterWait
  private closed = false

  constructor(ring: SharedArrayBuffer) {
    this.header = new Int32Array(ring, 0, 4)
    this.data = new Uint8Array(ring, HEADER_BYTES)
    this.words = new DataView(ring, HEADER_BYTES)
    this.capacity = this.data.length
    this.maxPayload = (this.capacity >> 1) - FRAME_HEADER
    this.space = new CounterWait(this.header, READ, () => this.waitForSpace())
  }

  sendData(channel: number, bytes: Uint8Array): void {
    if (this.closed) return
    checkChannel(channel)
    let from = 0
    while (bytes.length - from > this.maxPayload) {
      this.send(KIND_PART, channel, bytes.subarray(from, from + this.maxPayload), this.maxPayload)
      from += this.maxPayload
    }
    const last = from === 0 ? bytes : bytes.subarray(from)
    this.send(KIND_DATA, channel, last, last.length)
  }

  sendEvent(channel: number, event: ChannelEvent): void {
    if (this.closed) return
    checkChannel(channel)
    const bytes = encoder.encode(JSON.stringify(event))
    this.send(KIND_EVENT, channel, bytes, bytes.length)
  }

  sendCredit(channel: number, credits: number): void {
    if (this.closed) return
    checkChannel(channel)
    this.send(KIND_CREDIT, channel, null, credits)
  }

  close(): void {
    this.closed = true
    this.queue.length = 0
    this.space.stop()
  }

  private send(kind: number, channel: number, payload: Uint8Array | null, word: number): void {
    if (this.queue.length === 0 && this.tryWrite(kind, channel, payload, word)) return
    this.queue.push({ kind, channel, payload: payload === null ? null : payload.slice(), word })
    this.waitForSpace()
  }

  /** Writes one frame if the ring has room for it now. */
  private tryWrite(kind: number, channel: number, payload: Uint8Array | null, word: number): boolean {
    const header = this.header
    const w = Atomics.load(header, WRITE)
    const r = Atomics.load(header, READ)
    const free = this.capacity - ((w - r) >>> 0)
    const need = align8(FRAME_HEADER + (payload === null ? 0 : payload.length))
    let pos = w & (this.capacity - 1)
    const toEnd = this.capacity - pos
    let advance = need
    if (need > toEnd) {
      if (free < toEnd + need) return false
      this.words.setUint32(pos, toEnd - FRAME_HEADER, true)
      this.words.setUint32(pos + 4, KIND_PAD << 24, true)
      advance += toEnd
      pos = 0
    } else if (free < need) {
      return false
    }
    this.words.setUint32(pos, word, true)
    this.words.setUint32(pos + 4, (kind << 24) | channel, true)
    if (payload !== null) this.data.set(payload, pos + FRAME_HEADER)
    Atomics.store(header, WRITE, (w + advance) | 0)
    Atomics.notify(header, WRITE)
    return true
  }

  /** Parks on the read counter until the receiver frees space, then writes what waited. */
  private waitForSpace(): void {
    if (this.space.pending || this.closed) return
    for (;;) {
      while (this.queue.length > 0) {
        const f = this.queue[0]!
        if (!this.tryWrite(f.kind, f.channel, f.payload, f.word)) break
        this.queue.shift()
      }
      if (this.queue.length === 0 || this.closed) return
      // Not waiting: the receiver moved on meanwhile, so try again.
      if (this.space.wait(Atomics.load(this.header, READ))) return
    }
  }
}

/** The receiving end of one ring: delivers frames to the handler as they arrive. */
export class SharedMemoryReceiver {
  private readonly header: Int32Array
  private readonly data: Uint8Array
  private readonly words: DataView
  private readonly capacity: number
  private parts: Uint8Array[] = []
  private stopped = false
  /** For frames, while parked: the sender's write counter. */
  private readonly frames: CounterWait

  constructor(ring: SharedArrayBuffer, private readonly peer: number, private readonly handler: PeerLinkHandler) {
    this.header = new Int32Array(ring, 0, 4)
    this.data = new Uint8Array(ring, HEADER_BYTES)
    this.words = new DataView(ring, HEADER_BYTES)
    this.capacity = this.data.length
    this.frames = new CounterWait(this.header, WRITE, () => this.park())
  }

  /** Delivers from the next turn of the event loop on: never inside open(), as a MessagePort does, so the slot creates its channels first. */
  start(): void {
    setImmediate(() => this.park())
  }

  /** Stops delivering; wakes the parked wait so that nothing keeps the thread alive. */
  stop(): void {
    this.stopped = true
    this.frames.stop()
    Atomics.notify(this.header, WRITE)
  }

  private park(): void {
    for (;;) {
      if (this.stopped) return
      const w = this.drain()
      if (w === null || this.frames.wait(w)) return
    }
  }

  /** Delivers every complete frame; returns the write counter it caught up with (null: stopped). */
  private drain(): number | null {
    const header = this.header
    let r = Atomics.load(header, READ)
    for (;;) {
      const w = Atomics.load(header, WRITE)
      if (r === w) return w
      while (r !== w) {
        if (this.stopped) return null
        const pos = r & (this.capacity - 1)
        const word = this.words.getUint32(pos, true)
        const tag = this.words.getUint32(pos + 4, true)
        const kind = tag >>> 24
        const channel = tag & MAX_CHANNEL
        const payloadBytes = kind === KIND_CREDIT ? 0 : word
        if (pos + FRAME_HEADER + payloadBytes > this.capacity || kind < KIND_DATA || kind > KIND_PART) {
          this.fail(`a malformed frame (kind ${kind}, ${word} bytes at ${pos}) arrived from slot ${this.peer}`)
          return null
        }
        const payload = this.data.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + payloadBytes)
        try {
          if (kind === KIND_DATA) this.deliverData(channel, payload)
          else if (kind === KIND_CREDIT) this.handler.onCredit(channel, word)
          else if (kind === KIND_EVENT) this.handler.onEvent(channel, JSON.parse(decoder.decode(payload)) as ChannelEvent)
          else if (kind === KIND_PART) this.parts.push(payload.slice())
        } catch (e) {
          if (e instanceof SyntaxError) {
            this.fail(`an event frame from slot ${this.peer} is not valid JSON: ${e.message}`)
            return null
          }
          throw e
        }
        r = (r + align8(FRAME_HEADER + payloadBytes)) | 0
        // Free the space as soon as the frame is consumed: a sender waiting for room resumes.
        Atomics.store(header, READ, r)
        Atomics.notify(header, READ)
      }
    }
  }

  private deliverData(channel: number, payload: Uint8Array): void {
    if (this.parts.length === 0) {
      this.handler.onData(channel, payload)
      return
    }
    let total = payload.length
    for (const p of this.parts) total += p.length
    const whole = new Uint8Array(total)
    let at = 0
    for (const p of this.parts) {
      whole.set(p, at)
      at += p.length
    }
    whole.set(payload, at)
    this.parts = []
    this.handler.onData(channel, whole)
  }

  private fail(message: string): void {
    this.stopped = true
    this.handler.onLinkFailed(this.peer, new WeirError('WEIR_NETWORK_FRAME_INVALID', message))
  }
}

function checkChannel(channel: number): void {
  if (channel < 0 || channel > MAX_CHANNEL || !Number.isInteger(channel)) throw new WeirError('WEIR_INTERNAL', `channel id ${channel} does not fit a shared-memory frame (0 to ${MAX_CHANNEL})`)
}

/** The two rings of one slot pair, as this slot sees them. */
export interface SlotPairRings {
  /** Frames this slot sends to the peer. */
  readonly outgoing: SharedArrayBuffer
  /** Frames the peer sends to this slot. */
  readonly incoming: SharedArrayBuffer
}

/** The links of one slot, over the rings the JobManager created for each pair of slots. */
export class SharedMemoryTransport implements SlotTransport {
  private readonly receivers: SharedMemoryReceiver[] = []

  constructor(private readonly rings: ReadonlyMap<number, SlotPairRings>) {}

  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink> {
    const links = new Map<number, PeerLink>()
    for (const [peer, rings] of this.rings) {
      const receiver = new SharedMemoryReceiver(rings.incoming, peer, handler)
      this.receivers.push(receiver)
      const link = new SharedMemoryLink(rings.outgoing)
      const close = link.close.bind(link)
      // Closing a link also stops reading what the peer sends on this pair.
      link.close = () => {
        close()
        receiver.stop()
      }
      links.set(peer, link)
      receiver.start()
    }
    return links
  }
}

/** Rings for every pair of `slots` slots: entry [a].get(b) is slot a's view of the pair (a, b). */
export function createSlotRings(slots: number, capacity = DEFAULT_RING_BYTES): Array<Map<number, SlotPairRings>> {
  const out = Array.from({ length: slots }, () => new Map<number, SlotPairRings>())
  for (let a = 0; a < slots; a++) {
    for (let b = a + 1; b < slots; b++) {
      const aToB = createRing(capacity)
      const bToA = createRing(capacity)
      out[a]!.set(b, { outgoing: aToB, incoming: bToA })
      out[b]!.set(a, { outgoing: bToA, incoming: aToB })
    }
  }
  return out
}
