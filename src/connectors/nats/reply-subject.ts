// Reads a JetStream message's stream sequence, timestamp and pending count from its reply
// subject, the way the client's `info` does, but without the array of eleven token strings and
// the info object it makes per message: on the source's hot path that parsing showed up next to
// the client's own protocol parser in profiles. Two forms exist:
//   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts-ns>.<pending>
//   $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts-ns>.<pending>[.<random>]

/** Filled in place by readReplySubject (one per reader, reused). */
export interface MessagePosition {
  seq: number
  /** When the stream stored the message, ms since the epoch. */
  timestampMs: number
  pending: number
}

const dots = new Int32Array(12)

/** Fills `into` from `reply`; false when the subject has neither form (the caller falls back to the client's parser). */
export function readReplySubject(reply: string, into: MessagePosition): boolean {
  if (!reply.startsWith('$JS.ACK.')) return false
  let n = 0
  for (let i = reply.indexOf('.'); i !== -1 && n < 12; i = reply.indexOf('.', i + 1)) dots[n++] = i
  // Token t runs from dots[t - 1] + 1 to dots[t] (or the end); the old form lacks two tokens.
  const shift = n === 8 ? -2 : n >= 10 ? 0 : null
  if (shift === null) return false
  const seq = digits(reply, dots[6 + shift]! + 1, dots[7 + shift]!, 0)
  const ns = 9 + shift
  // Nanoseconds do not fit a double exactly: the milliseconds are the digits but the last six.
  const ms = digits(reply, dots[ns - 1]! + 1, dots[ns]!, 6)
  const pendingEnd = 10 + shift < n ? dots[10 + shift]! : reply.length
  const pending = digits(reply, dots[9 + shift]! + 1, pendingEnd, 0)
  if (seq < 0 || ms < 0 || pending < 0) return false
  into.seq = seq
  into.timestampMs = ms
  into.pending = pending
  return true
}

/** The decimal number in s[from, to) without its last `drop` digits; -1 if it is not one. */
function digits(s: string, from: number, to: number, drop: number): number {
  if (to - from <= drop) return to > from ? 0 : -1
  let v = 0
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    if (i < to - drop) v = v * 10 + d
  }
  return v
}
