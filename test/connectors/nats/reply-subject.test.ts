// readReplySubject reads the stream sequence, timestamp and pending count of both reply-subject
// forms as the NATS client's parser does (tokens split at '.', the old form padded to the new),
// and refuses anything else.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readReplySubject, type MessagePosition } from '../../../src/connectors/nats/reply-subject.ts'

const position = (): MessagePosition => ({ seq: -1, timestampMs: -1, pending: -1 })

/** The client's way: split into tokens, pad the old form to the new one, take tokens 7, 9 and 10. */
function reference(reply: string): MessagePosition {
  const tokens = reply.split('.')
  if (tokens.length === 9) tokens.splice(2, 0, '_', '')
  return { seq: Number(tokens[7]), timestampMs: Number(BigInt(tokens[9]!) / 1_000_000n), pending: Number(tokens[10]) }
}

test('readReplySubject agrees with the client\'s token parse on both forms, to the millisecond', () => {
  for (const reply of [
    '$JS.ACK.LINES.weir_abc.1.42.42.1796134381405123456.7',
    '$JS.ACK.hub.ACCHASH.LINES.weir_abc.3.9007199254740.12.1796134381405999999.0.r4nd0m',
    '$JS.ACK._.ACCHASH.S.c.1.1.1.1000000.0',
    '$JS.ACK.S.c.1.18446744.5.999999.123',
  ]) {
    const at = position()
    assert.equal(readReplySubject(reply, at), true, reply)
    assert.deepEqual(at, reference(reply), reply)
  }
})

test('readReplySubject refuses what is not a JetStream reply subject, leaving its output alone', () => {
  for (const reply of ['', '_INBOX.abc', '$JS.ACK.S.c.1.2', '$JS.ACK.S.c.1.x.1.1.0', '$JS.ACK.S.c.1.2.3.4.5.6']) {
    const at = position()
    assert.equal(readReplySubject(reply, at), false, reply)
    assert.deepEqual(at, position(), reply)
  }
})
