// The frames of the control plane (RPC between the JobManager and its TaskManagers):
//   u32 length   bytes after this field
//   u8  magic    0x52 ('R'): anything else is not a Weir RPC connection
//   u8  version  RPC_VERSION: a peer of another version is refused, not misread
//   ...payload   one message in V8's serialization format (node:v8): the structured clone
//                that worker messages already use, so Maps, typed arrays and BigInts in
//                acknowledgements and splits arrive as they left
// Control messages are few (heartbeats, deployments, acknowledgements): fidelity matters more
// than speed here, and the format is Node's own. Every decoded message is then validated
// (rpc-messages.ts) before anything acts on it.

import { deserialize, serialize } from 'node:v8'

export const RPC_MAGIC = 0x52
export const RPC_VERSION = 1
const HEADER = 6
/** Deployments carry the job's artifact; anything larger is refused as garbage. */
export const MAX_RPC_FRAME_BYTES = 256 * 1024 * 1024

export class RpcFrameError extends Error {}

export function encodeRpcFrame(message: unknown): Buffer {
  const payload = serialize(message)
  const out = Buffer.allocUnsafe(HEADER + payload.length)
  out.writeUInt32LE(2 + payload.length, 0)
  out[4] = RPC_MAGIC
  out[5] = RPC_VERSION
  out.set(payload, HEADER)
  return out
}

/** Splits a stream into messages; throws RpcFrameError (and stays failed) on a bad frame. */
export class RpcDecoder {
  private buffered: Buffer = Buffer.alloc(0)
  private failed: RpcFrameError | null = null

  constructor(private readonly onMessage: (message: unknown) => void, private readonly maxFrameBytes = MAX_RPC_FRAME_BYTES) {}

  push(chunk: Buffer): void {
    if (this.failed) throw this.failed
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    try {
      while (this.buffered.length >= HEADER) {
        const length = this.buffered.readUInt32LE(0)
        if (this.buffered[4] !== RPC_MAGIC) throw new RpcFrameError(`not a Weir RPC frame (header byte 0x${this.buffered[4]!.toString(16).padStart(2, '0')}, expected 0x52)`)
        if (this.buffered[5] !== RPC_VERSION) throw new RpcFrameError(`RPC frame of version ${this.buffered[5]}; this process speaks version ${RPC_VERSION} (run the same Weir version on every process)`)
        if (length < 2) throw new RpcFrameError(`malformed RPC frame: length ${length}`)
        if (length + 4 > this.maxFrameBytes) throw new RpcFrameError(`oversized RPC frame: ${length + 4} bytes, more than the limit of ${this.maxFrameBytes}`)
        if (this.buffered.length < length + 4) return
        const payload = this.buffered.subarray(HEADER, length + 4)
        this.buffered = this.buffered.subarray(length + 4)
        let message: unknown
        try {
          message = deserialize(payload)
        } catch (e) {
          throw new RpcFrameError(`malformed RPC payload: ${(e as Error).message}`)
        }
        this.onMessage(message)
      }
    } catch (e) {
      if (e instanceof RpcFrameError) this.failed = e
      throw e
    }
  }

  /** The stream ended; it must end between frames. */
  end(): void {
    if (!this.failed && this.buffered.length > 0) throw (this.failed = new RpcFrameError(`the connection ended inside an RPC frame (${this.buffered.length} bytes of it received): truncated frame`))
  }
}
