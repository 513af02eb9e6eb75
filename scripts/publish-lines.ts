// Publishes the lines of stdin (or --file) to a JetStream subject, creating the stream when it
// is missing: a way to feed examples/nats-to-postgres.ts without the nats CLI.
//
//   node --import tsx scripts/publish-lines.ts --nats-url nats://127.0.0.1:4222 --stream LINES --subject lines < README.md

import { readFileSync } from 'node:fs'
import { connect } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { parseParams } from '../src/api/environment.ts'

const p = parseParams(process.argv.slice(2))
const url = p['nats-url'] ?? 'nats://127.0.0.1:4222'
const stream = p.stream ?? 'LINES'
const subject = p.subject ?? 'lines'
const text = p.file ? readFileSync(p.file, 'utf8') : readFileSync(0, 'utf8')
const lines = text.split('\n').filter((l) => l.length > 0)

const nc = await connect({ servers: url })
const jsm = await jetstreamManager(nc)
try {
  await jsm.streams.info(stream)
} catch {
  await jsm.streams.add({ name: stream, subjects: [subject] })
  process.stderr.write(`created stream ${stream} (subject ${subject})\n`)
}
const js = jetstream(nc)
for (let i = 0; i < lines.length; i += 1000) await Promise.all(lines.slice(i, i + 1000).map((l) => js.publish(subject, l)))
process.stderr.write(`published ${lines.length} lines to ${subject}\n`)
await nc.close()
