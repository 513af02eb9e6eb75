// Nexmark q12 (processing-time windows): the number of bids per bidder in 10 s tumbling windows of processing time (--size MS for other sizes).
import { defineJob, TumblingProcessingTimeWindows, type NexmarkEvent } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

const count = { createAccumulator: () => 0, add: (_b: unknown, n: number) => n + 1, getResult: (n: number) => n }

export default defineJob('Nexmark q12', (env) => {
  const out = bids(nexmarkEvents(env)).keyBy((b) => b.bidder).window(TumblingProcessingTimeWindows.of(Number(env.params.size ?? '10000')))
    .aggregate<number, number, string>(count, (bidder: number, _ctx, n: Iterable<number>, o) => o.collect(`${bidder},${[...n][0]}`))
  sink(env, out, (s) => s)
})

/** Bids per bidder over the whole run (window boundaries depend on the clock: the test sums the job's windows). */
export function reference(events: Iterable<NexmarkEvent>): string[] {
  const n = new Map<number, number>()
  for (const e of events) if (e.type === 2) n.set(e.bidder, (n.get(e.bidder) ?? 0) + 1)
  return [...n].map(([b, c]) => `${b},${c}`)
}

export function totals(lines: string[]): string[] {
  const n = new Map<string, number>()
  for (const l of lines) {
    const [b, c] = l.split(',')
    n.set(b!, (n.get(b!) ?? 0) + Number(c))
  }
  return [...n].map(([b, c]) => `${b},${c}`)
}
