import { MessageChannel } from 'node:worker_threads'
import { MessagePortTransport } from '../../../src/runtime/network/message-port-link.ts'
import { runPeerLinkContract } from './peer-link.contract.ts'

// Slot 0 (A) and slot 1 (B) of one process, joined by one MessageChannel as the JobManager joins them.
runPeerLinkContract('message-port', async (handlerOfA, handlerOfB) => {
  const { port1, port2 } = new MessageChannel()
  const a = new MessagePortTransport(new Map([[1, port1]])).open(handlerOfA).get(1)!
  const b = new MessagePortTransport(new Map([[0, port2]])).open(handlerOfB).get(0)!
  return {
    a, b,
    close: () => {
      a.close()
      b.close()
    },
  }
})
