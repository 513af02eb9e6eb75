// The one interface between a slot's channels and whatever carries bytes to another slot.
// A slot talks to each peer slot through one PeerLink, whatever the medium: a MessagePort
// between worker threads (message-port-link.ts), shared-memory rings between threads of one
// process, or a TCP connection between TaskManager processes. Channels (channels.ts) sit
// above it and do batching, credit-based flow control and barrier handling the same way on
// every medium; a link only moves three kinds of frames, in order.
//
// The contract, checked for every implementation by test/runtime/network/peer-link.contract.ts:
// - Frames of one link arrive in the order they were sent (data, events and credits alike),
//   so records, barriers, watermarks and end of partition never overtake one another.
// - `sendData` may be handed a view of a reused encoder buffer: the link copies or writes the
//   bytes out before it returns. The handler's `onData` gets bytes that are valid only during
//   the call: it decodes (or copies) them before returning, so a link may reuse its buffers.
// - Sends never block and never throw for a healthy link; flow control is the channels' job
//   (credits bound what is in flight), so a link needs no back-pressure of its own.
// - A link that breaks (peer gone, malformed frame) calls `onLinkFailed` once with a typed
//   error and drops everything after it: the JobManager fails the attempt and restarts it.

import type { WeirError } from '../../errors.ts'
import type { ChannelEvent } from './events.ts'

/** The sending side of the connection to one peer slot. */
export interface PeerLink {
  /** A serialized batch of records for `channel`. The bytes are copied out before return. */
  sendData(channel: number, bytes: Uint8Array): void
  /** An in-band event (barrier, end of partition, watermark) for `channel`. */
  sendEvent(channel: number, event: ChannelEvent): void
  /** Returns `credits` to the sender of `channel` (this slot is that channel's receiver). */
  sendCredit(channel: number, credits: number): void
  /** Releases the link's resources; nothing is delivered after it. */
  close(): void
}

/** What the links of a slot deliver to (the slot's TaskExecutor). */
export interface PeerLinkHandler {
  /** A batch for input `channel`; `bytes` are valid only during the call. */
  onData(channel: number, bytes: Uint8Array): void
  onEvent(channel: number, event: ChannelEvent): void
  /** Credit returned for output `channel`. */
  onCredit(channel: number, credits: number): void
  /** The link to `peer` broke; nothing more will arrive on it. */
  onLinkFailed(peer: number, error: WeirError): void
}

/**
 * Opens one slot's links to its peers. Peers are named by their global slot index (0 to
 * numSlots - 1 over the whole job, whichever TaskManager they run on). The returned map has
 * one link per peer slot that this slot exchanges data with.
 */
export interface SlotTransport {
  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink>
}
