// Nexmark q5 (hot items): for every 10 s window sliding by 2 s, the auctions with the most bids; --tumbling runs the same with 10 s tumbling windows, to compare their cost.
import { defineJob, SlidingEventTimeWindows, TumblingEventTimeWindows, MapStateDescriptor, type KeyedProcessFunction, type MapState, type NexmarkEvent, type TimeWindow } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

type Count = [auction: number, count: number, windowEnd: number]
const SIZE = 10_000
const SLIDE = 2_000

const count = { createAccumulator: () => 0, add: (_b: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b }

/** Per window end: the counts of every auction; when the watermark passes the window, those with the maximum. */
class HottestPerWindow implements KeyedProcessFunction<number, Count, string> {
  private counts!: MapState<number, number>
  open(ctx: { getMapState<K, V>(d: MapStateDescriptor<K, V>): MapState<K, V> }): void {
    this.counts = ctx.getMapState(new MapStateDescriptor<number, number>('counts'))
  }
  processElement(c: Count, ctx: Parameters<KeyedProcessFunction<number, Count, string>['processElement']>[1]): void {
    // One timer per window end (this key): registered with the window's first count.
    if (this.counts.isEmpty()) ctx.timerService().registerEventTimeTimer(c[2] - 1)
    this.counts.put(c[0], c[1])
  }
  onTimer(time: number, _ctx: unknown, out: { collect(s: string): void }): void {
    let max = 0
    for (const n of this.counts.values()) if (n > max) max = n
    for (const [auction, n] of this.counts.entries()) if (n >= max) out.collect(`${time + 1},${auction},${n}`)
    this.counts.clear()
  }
}

export default defineJob('Nexmark q5', (env) => {
  const tumbling = env.params.tumbling === 'true'
  const assigner = tumbling ? TumblingEventTimeWindows.of(SIZE) : SlidingEventTimeWindows.of(SIZE, SLIDE)
  // Only the auction id crosses the exchange (Flink's plan projects the bid the same way before the shuffle).
  const counts = bids(nexmarkEvents(env)).map((b) => b.auction).name('Auction').keyBy((a) => a).window(assigner)
    .aggregate<number, number, Count>(count, (auction: number, ctx, n: Iterable<number>, out) => {
      for (const count of n) out.collect([auction, count, (ctx.window() as TimeWindow).end])
    })
  const out = counts.keyBy((c) => c[2]).process(new HottestPerWindow())
  sink(env, out, (s) => s)
})

export function reference(events: Iterable<NexmarkEvent>, tumbling = false): string[] {
  const slide = tumbling ? SIZE : SLIDE
  const perWindow = new Map<number, Map<number, number>>()
  for (const e of events) {
    if (e.type !== 2) continue
    const lastStart = e.dateTime - (((e.dateTime % slide) + slide) % slide)
    for (let start = lastStart; start > e.dateTime - SIZE; start -= slide) {
      const end = start + SIZE
      const m = perWindow.get(end) ?? new Map<number, number>()
      m.set(e.auction, (m.get(e.auction) ?? 0) + 1)
      perWindow.set(end, m)
    }
  }
  const out: string[] = []
  for (const [end, m] of perWindow) {
    const max = Math.max(...m.values())
    for (const [auction, n] of m) if (n >= max) out.push(`${end},${auction},${n}`)
  }
  return out
}
