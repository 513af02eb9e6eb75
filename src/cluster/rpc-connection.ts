// One RPC connection over a socket: sends messages, hands validated ones to a handler, and
// closes itself (once, with a reason) when the peer goes away, a frame is malformed or a
// message fails validation. Nothing that arrives can throw out of here into the process.

import type { Socket } from 'node:net'
import { RpcDecoder, encodeRpcFrame } from './rpc-codec.ts'

export class RpcConnection<In, Out> {
  private closedWith: string | null = null
  private readonly decoder: RpcDecoder
  /** Time the last message arrived (heartbeats count). */
  lastReceivedAt = Date.now()

  constructor(
    readonly socket: Socket,
    validate: (message: unknown) => In,
    private readonly onMessage: (message: In) => void,
    private readonly onClose: (reason: string) => void,
  ) {
    socket.setNoDelay(true)
    this.decoder = new RpcDecoder((raw) => {
      if (this.closedWith !== null) return
      const message = validate(raw)
      this.lastReceivedAt = Date.now()
      this.onMessage(message)
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk)
      } catch (e) {
        this.close(`refused: ${(e as Error).message}`)
      }
    })
    socket.on('end', () => {
      try {
        this.decoder.end()
        this.close('the peer closed the connection')
      } catch (e) {
        this.close((e as Error).message)
      }
    })
    socket.on('error', (e) => this.close(`connection error: ${e.message}`))
    socket.on('close', () => this.close('the connection closed'))
  }

  get closed(): boolean {
    return this.closedWith !== null
  }

  send(message: Out): void {
    if (this.closedWith === null) this.socket.write(encodeRpcFrame(message))
  }

  close(reason: string): void {
    if (this.closedWith !== null) return
    this.closedWith = reason
    this.socket.destroy()
    this.onClose(reason)
  }
}
