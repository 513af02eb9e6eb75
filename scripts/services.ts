// `npm run services`: starts what the connector tests and examples talk to, on loopback, each
// with its own data directory (PostgreSQL with max_prepared_transactions > 0, NATS with
// JetStream), prints how to reach them, and stops
// them by PID on Ctrl-C. Install the servers first: apt-get install postgresql nats-server.

import { startNats, startPostgres } from '../test/helpers/services.ts'

const postgres = await startPostgres({ fsync: true })
const nats = await startNats()

process.stdout.write(`PostgreSQL  ${postgres.url}   (pid ${postgres.pid}, data ${postgres.dataDir})
NATS        ${nats.url}   (pid ${nats.pid}, JetStream on)
Ctrl-C stops them.
`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await Promise.allSettled([postgres.stop(), nats.stop()])
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
