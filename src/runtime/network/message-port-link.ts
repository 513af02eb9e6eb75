// PeerLink over a MessagePort: the transport between two slots (worker threads) of one
// process. A batch's bytes are copied into a fresh buffer and transferred (not cloned), so
// each batch crosses with one copy; events and credits are small structured-cloned objects.

import type { MessagePort } from 'node:worker_threads'
import { WeirError } from '../../errors.ts'
import type { ChannelEvent } from './events.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from './transport.ts'

/** One frame on a peer port: a batch, an event, or returned credit for a channel. */
type PortFrame =
  | { readonly c: number; readonly b: Uint8Array }
  | { readonly c: number; readonly e: ChannelEvent }
  | { readonly c: number; readonly k: number }

export class MessagePortLink implements PeerLink {
  constructor(private readonly port: MessagePort) {}

  sendData(channel: number, bytes: Uint8Array): void {
    const owned = bytes.slice()
    this.port.postMessage({ c: channel, b: owned }, [owned.buffer as ArrayBuffer])
  }
  sendEvent(channel: number, event: ChannelEvent): void {
    this.port.postMessage({ c: channel, e: event })
  }
  sendCredit(channel: number, credits: number): void {
    this.port.postMessage({ c: channel, k: credits })
  }
  close(): void {
    this.port.close()
  }
}

/** The links of one slot, over the MessagePorts the JobManager created for each pair of slots. */
export class MessagePortTransport implements SlotTransport {
  constructor(private readonly ports: ReadonlyMap<number, MessagePort>) {}

  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink> {
    const links = new Map<number, PeerLink>()
    for (const [peer, port] of this.ports) {
      port.on('message', (m: PortFrame) => {
        if ('b' in m) handler.onData(m.c, m.b)
        else if ('e' in m) handler.onEvent(m.c, m.e)
        else if ('k' in m) handler.onCredit(m.c, m.k)
        else handler.onLinkFailed(peer, new WeirError('WEIR_NETWORK_FRAME_INVALID', `a malformed frame arrived from slot ${peer}`))
      })
      links.set(peer, new MessagePortLink(port))
    }
    return links
  }
}
