// Nexmark q11 (user sessions): per bidder, the number of bids in each session of activity with gaps under 10 s, with the session's start and end.
import { defineJob, EventTimeSessionWindows, type NexmarkEvent, type TimeWindow } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

const GAP = 10_000
const count = { createAccumulator: () => 0, add: (_b: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b }

export default defineJob('Nexmark q11', (env) => {
  const out = bids(nexmarkEvents(env)).keyBy((b) => b.bidder).window(EventTimeSessionWindows.withGap(GAP))
    .aggregate<number, number, string>(count, (bidder: number, ctx, n: Iterable<number>, o) => {
      const w = ctx.window() as TimeWindow
      o.collect(`${bidder},${[...n][0]},${w.start},${w.end}`)
    })
  sink(env, out, (s) => s)
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const times = new Map<number, number[]>()
  for (const e of events) if (e.type === 2) (times.get(e.bidder) ?? times.set(e.bidder, []).get(e.bidder)!).push(e.dateTime)
  const out: string[] = []
  for (const [bidder, ts] of times) {
    ts.sort((a, b) => a - b)
    let start = ts[0]!
    let end = start + GAP
    let n = 0
    for (const t of ts) {
      if (t > end) {
        out.push(`${bidder},${n},${start},${end}`)
        start = t
        n = 0
      }
      n++
      end = Math.max(end, t + GAP)
    }
    out.push(`${bidder},${n},${start},${end}`)
  }
  return out
}
