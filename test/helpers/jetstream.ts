// JetStream helpers for tests and benchmarks: create a stream, publish to it quickly, read a
// whole stream back.

import { readReplySubject } from '../../src/connectors/nats/reply-subject.ts'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'

export async function natsConnection(url: string): Promise<NatsConnection> {
  return connect({ servers: url })
}

export async function createStream(nc: NatsConnection, name: string, subjects: string[], duplicateWindowMs = 120_000): Promise<void> {
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name, subjects, duplicate_window: duplicateWindowMs * 1_000_000 })
}

/** Publishes payloads (round-robin over subjects), many in flight at a time. */
export async function publishAll(nc: NatsConnection, subjects: string[], payloads: readonly string[], window = 1000): Promise<void> {
  const js = jetstream(nc)
  const encoder = new TextEncoder()
  let inFlight: Promise<unknown>[] = []
  for (let i = 0; i < payloads.length; i++) {
    inFlight.push(js.publish(subjects[i % subjects.length]!, encoder.encode(payloads[i]!)))
    if (inFlight.length >= window) {
      await Promise.all(inFlight)
      inFlight = []
    }
  }
  await Promise.all(inFlight)
}

/**
 * Every message of a stream, in stream order, as { subject, seq, text, timestampMs }. The
 * milliseconds are read from the digits of the message's reply subject, as the source reads
 * them: the client's timestampNanos is a double (nanoseconds since 1970 do not fit one exactly),
 * and a message within a few hundred nanoseconds of a window's edge fell into the wrong window.
 */
export async function readStream(nc: NatsConnection, name: string): Promise<Array<{ subject: string; seq: number; text: string; timestampMs: number }>> {
  const jsm = await jetstreamManager(nc)
  const total = (await jsm.streams.info(name)).state.messages
  const out: Array<{ subject: string; seq: number; text: string; timestampMs: number }> = []
  if (total === 0) return out
  const js = jetstream(nc)
  const consumer = await js.consumers.get(name)
  const decoder = new TextDecoder()
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(10_000, total - out.length), expires: 2000 })
    for await (const m of batch) {
      const at = { seq: 0, timestampMs: 0, pending: 0 }
      if (!readReplySubject((m as { readonly reply?: string }).reply ?? '', at)) throw new Error(`message ${m.seq} of ${name} has no JetStream reply subject`)
      out.push({ subject: m.subject, seq: m.seq, text: decoder.decode(m.data), timestampMs: at.timestampMs })
    }
  }
  return out
}
