// `npm run services`: starts what the connector tests and examples talk to, on loopback, each
// with its own data directory (PostgreSQL with max_prepared_transactions > 0, NATS with
// JetStream, an S3-protocol server (s3rver) with a bucket 'weir'), prints how to reach them, and stops
// them by PID on Ctrl-C. Install the servers first: apt-get install postgresql nats-server.

import { startNats, startPostgres, startS3 } from '../test/helpers/services.ts'

const postgres = await startPostgres({ fsync: true })
const nats = await startNats()
const s3 = await startS3()
await s3.createBucket('weir')

process.stdout.write(`PostgreSQL  ${postgres.url}   (pid ${postgres.pid}, data ${postgres.dataDir})
NATS        ${nats.url}   (pid ${nats.pid}, JetStream on)
S3          ${s3.endpoint}   (pid ${s3.pid}) bucket 'weir'; checkpoints and savepoints there with
            -D execution.checkpointing.dir=s3://weir/checkpoints -D execution.checkpointing.savepoint-dir=s3://weir/savepoints -D s3.endpoint=${s3.endpoint} -D s3.access-key=${s3.accessKey} -D s3.secret-key=${s3.secretKey} -D s3.path.style.access=true
Ctrl-C stops them.
`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await Promise.allSettled([postgres.stop(), nats.stop(), s3.stop()])
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
