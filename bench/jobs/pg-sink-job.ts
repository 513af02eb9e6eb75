// The job bench/connectors.ts measures for the PostgreSQL sink: --rows numbers from a parallel
// sequence source, each written as a row (id bigint, payload text) into --table in --mode.
//
//   npx weir run -p 2 bench/jobs/pg-sink-job.ts --url postgres://... --table t --rows 1000000 --mode exactly-once

import { defineJob, PostgresSink, type PostgresSinkMode } from 'weir-stream'

export default defineJob('PostgresSinkBench', (env) => {
  const { url, table, rows, mode } = env.params
  if (!url || !table) throw new Error('--url and --table are required')
  env.fromSequence(1, Number(rows ?? '1000000'))
    .map((i) => [i, 'a payload of about thirty bytes'] as const)
    .sinkTo(new PostgresSink<readonly [number, string]>({ url, table, columns: ['id', 'payload'], mode: (mode ?? 'exactly-once') as PostgresSinkMode }), 'PostgreSQL').uid('pg-bench-sink')
})
