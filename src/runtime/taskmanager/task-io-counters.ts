// A task's traffic counters, summed over its record writers' channels and its input channels
// when the worker samples metrics (not per record: the channels count per batch).

import type { RecordWriter } from '../network/record-writer.ts'
import type { InputChannel } from '../network/channels.ts'

/** Records the chain sent, each once: a broadcast edge's copies are divided out; the busiest output counts. */
export function recordsEmitted(writers: readonly RecordWriter[]): number {
  let most = 0
  for (const w of writers) {
    let n = 0
    for (const c of w.channels) n += c.recordsSent
    if (w.fanOut > 1) n = Math.floor(n / w.fanOut)
    if (n > most) most = n
  }
  return most
}

/** Serialized bytes sent to other slots. */
export function bytesSent(writers: readonly RecordWriter[]): number {
  let n = 0
  for (const w of writers) for (const c of w.channels) n += c.bytesSent
  return n
}

/** Serialized bytes received from other slots. */
export function bytesReceived(inputs: readonly InputChannel[]): number {
  let n = 0
  for (const input of inputs) n += input.bytesReceived
  return n
}

/** Whether some output waits for credit. */
export function anyBlocked(writers: readonly RecordWriter[]): boolean {
  for (const w of writers) if (w.isBlocked()) return true
  return false
}
