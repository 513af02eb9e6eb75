// The job bench/connectors.ts measures for the JetStream source: every message of --stream
// (bounded) into a DiscardingSink.
//
//   npx weir run -p 1 bench/jobs/nats-source-job.ts --url nats://... --stream S

import { defineJob, DiscardingSink, JetStreamSource } from 'weir-stream'

export default defineJob('JetStreamSourceBench', (env) => {
  const { url, stream } = env.params
  if (!url || !stream) throw new Error('--url and --stream are required')
  env.fromSource(new JetStreamSource({ servers: url, stream, bounded: true }), 'JetStream').uid('nats-bench-source')
    .sinkTo(new DiscardingSink<string>(), 'Discard')
})
