// Counts per key in tumbling event-time windows, from a NATS JetStream stream into a PostgreSQL
// table. Each message's payload is a key (its text, trimmed); its event time is the message's
// JetStream timestamp (when the stream stored it). Watermarks allow --out-of-orderness ms of
// disorder and are generated per split (one per subject), so a subject that is behind holds the
// windows back instead of having its messages dropped as late. Each window that fires becomes one
// row (window_start, window_end, key, count) of TABLE (created when missing). In the default
// mode, exactly-once, the table holds each window's count exactly once, through failures,
// restarts and kill -9 (resume with --from-checkpoint latest).
//
//   npx weir run -D execution.checkpointing.interval=1s -D execution.checkpointing.dir=/tmp/ckpt \
//     examples/nats-windowed-to-postgres.ts --nats-url nats://127.0.0.1:4222 --stream CLICKS \
//     --subject clicks.a,clicks.b --postgres-url postgres://postgres@127.0.0.1:5432/postgres \
//     --table click_counts [--window 10000] [--out-of-orderness 1000] [--idleness 5000] \
//     [--mode exactly-once|write-ahead|upsert|at-least-once] [--bounded]
//
// --subject takes one subject filter or several, comma-separated (one split each; default: the
// whole stream as one split). --window is the window size in ms (default 10 000). --idleness ms
// lets a subject without new messages stop holding the watermark back (default: it holds it, as
// in Flink). --bounded stops after the last message the stream held when the job started; the
// end of the input fires every window that is still open. Without it the job runs on, and a
// window fires once messages --out-of-orderness ms past its end have arrived on every subject.
// Messages later than that (their window already fired) are printed as `late <key> <timestamp>`
// lines instead of being counted. In upsert mode (window_start, key) is the primary key.

import { defineJob, JetStreamSource, OutputTag, PostgresSink, TumblingEventTimeWindows, WatermarkStrategy, type AggregateFunction, type PostgresSinkMode } from 'weir-stream'

export interface WindowCount {
  window_start: Date
  window_end: Date
  key: string
  count: number
}

const COUNT: AggregateFunction<string, number, number> = {
  createAccumulator: () => 0,
  add: (_key, n) => n + 1,
  getResult: (n) => n,
  merge: (a, b) => a + b,
}

function milliseconds(p: Record<string, string | undefined>, name: string, fallback: number | null): number | null {
  const raw = p[name]
  if (raw === undefined) return fallback
  const ms = Number(raw)
  if (raw === '' || !Number.isInteger(ms) || ms < 0) throw new Error(`--${name} must be a whole number of milliseconds, got '${raw}'`)
  return ms
}

export default defineJob('NatsWindowedToPostgres', (env) => {
  const p = env.params
  for (const required of ['nats-url', 'stream', 'postgres-url', 'table']) {
    if (!p[required]) throw new Error(`--${required} is required (see the comment at the top of examples/nats-windowed-to-postgres.ts)`)
  }
  const windowMs = milliseconds(p, 'window', 10_000)!
  if (windowMs === 0) throw new Error('--window must be at least 1 ms')
  const idlenessMs = milliseconds(p, 'idleness', null)
  let watermarks = WatermarkStrategy.forBoundedOutOfOrderness<string>(milliseconds(p, 'out-of-orderness', 1000)!)
  if (idlenessMs !== null) watermarks = watermarks.withIdleness(idlenessMs)
  const mode = (p.mode ?? 'exactly-once') as PostgresSinkMode
  const table = p.table!
  const late = new OutputTag<string>('late')

  const counts = env.fromSource(new JetStreamSource({
    servers: p['nats-url']!, stream: p.stream!,
    subjects: p.subject ? p.subject.split(',').map((s) => s.trim()) : undefined,
    bounded: p.bounded === 'true' || p.bounded === '',
  }), watermarks, 'JetStream').uid('messages')
    .map((payload) => payload.trim()).name('Key').uid('key')
    .keyBy((key) => key)
    .window(TumblingEventTimeWindows.of(windowMs))
    .sideOutputLateData(late)
    .aggregate(COUNT, (key: string, ctx, totals: Iterable<number>, out) => {
      const window = ctx.window()
      for (const count of totals) out.collect({ window_start: new Date(window.start), window_end: new Date(window.end), key, count })
    }).name('Count per window').uid('count')

  counts.sinkTo(new PostgresSink<WindowCount>({
    url: p['postgres-url']!, table, columns: ['window_start', 'window_end', 'key', 'count'], mode,
    keyColumns: mode === 'upsert' ? ['window_start', 'key'] : undefined,
    createTable: `CREATE TABLE IF NOT EXISTS ${table} (window_start timestamptz, window_end timestamptz, key text, count bigint${mode === 'upsert' ? ', PRIMARY KEY (window_start, key)' : ''})`,
  }), 'PostgreSQL').uid('postgres')

  counts.getSideOutput(late).process<string>({
    processElement: (key, ctx, out) => out.collect(`late ${key} ${ctx.timestamp()}`),
  }).name('Late messages').uid('late').print()
})
