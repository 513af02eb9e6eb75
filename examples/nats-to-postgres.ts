// The word count of examples/wordcount.ts over every message of a NATS JetStream stream, from
// the start of the stream (each message's payload is a line of text), writing each (word, count)
// update as one row of a PostgreSQL table (word text, count bigint; created when missing). In
// the default mode, exactly-once, the table holds exactly what the file sink's part files hold
// for the same input, through failures, restarts and kill -9 (resume with --from-checkpoint).
//
//   npx weir run -D execution.checkpointing.interval=1s -D execution.checkpointing.dir=/tmp/ckpt \
//     examples/nats-to-postgres.ts --nats-url nats://127.0.0.1:4222 --stream LINES --subject lines \
//     --postgres-url postgres://postgres@127.0.0.1:5432/postgres --table word_counts \
//     [--mode exactly-once|write-ahead|upsert|at-least-once] [--bounded]
//
// --bounded stops after the last message the stream held when the job started (default: runs on
// and counts new messages as they arrive). In upsert mode the table has one row per word (its
// latest count; word is the primary key) instead of one row per update.

import { defineJob, JetStreamSource, PostgresSink, type PostgresSinkMode } from 'weir-stream'
import { tokenize } from './wordcount.ts'

export default defineJob('NatsToPostgres', (env) => {
  const p = env.params
  for (const required of ['nats-url', 'stream', 'postgres-url', 'table']) {
    if (!p[required]) throw new Error(`--${required} is required (see the comment at the top of examples/nats-to-postgres.ts)`)
  }
  const mode = (p.mode ?? 'exactly-once') as PostgresSinkMode
  const table = p.table!
  env.fromSource(new JetStreamSource({ servers: p['nats-url']!, stream: p.stream!, subjects: p.subject ? [p.subject] : undefined, bounded: p.bounded === 'true' || p.bounded === '' }), 'JetStream').uid('lines')
    .flatMap(tokenize).name('Tokenizer').uid('tokenizer')
    .keyBy((pair) => pair[0])
    .sum(1).name('Count').uid('count')
    .sinkTo(new PostgresSink<[string, number]>({
      url: p['postgres-url']!, table, columns: ['word', 'count'], mode,
      keyColumns: mode === 'upsert' ? ['word'] : undefined,
      createTable: `CREATE TABLE IF NOT EXISTS ${table} (word text${mode === 'upsert' ? ' PRIMARY KEY' : ''}, count bigint)`,
    }), 'PostgreSQL').uid('postgres')
})
