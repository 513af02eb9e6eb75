// Nexmark q5 (hot items): for every 10 s window sliding by 2 s, the auctions with the most bids; --tumbling runs the same with 10 s tumbling windows, to compare their cost.
import { defineJob, SlidingEventTimeWindows, TumblingEventTimeWindows, ValueStateDescriptor, type KeyedProcessFunction, type NexmarkEvent, type TimeWindow, type ValueState } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

type Count = [auction: number, count: number, windowEnd: number]
const SIZE = 10_000
const SLIDE = 2_000

const count = { createAccumulator: () => 0, add: (_b: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b }

/**
 * Before the exchange to the window's end: drops counts below the highest count this subtask
 * already sent for the same window, which cannot be the window's maximum (that is at least as
 * high) nor tie with it. A window's counts come out of the window operator when the watermark
 * passes its end, all at once, so only a few per window and subtask go on instead of one per
 * auction. Kept in memory only: after a restore more counts pass, which changes nothing.
 */
class WindowCandidates {
  private readonly highest = new Map<number, number>()
  filter(c: Count): boolean {
    const best = this.highest.get(c[2])
    if (best !== undefined && c[1] < best) return false
    if (best === undefined) {
      // Windows fire in order of their ends: older ones are done.
      if (this.highest.size >= 16) for (const end of this.highest.keys()) if (end < c[2]) this.highest.delete(end)
    }
    if (best === undefined || c[1] > best) this.highest.set(c[2], c[1])
    return true
  }
}

/** Per window end: the highest count and its auctions; when the watermark passes the window, those. */
class HottestPerWindow implements KeyedProcessFunction<number, Count, string> {
  private best!: ValueState<[count: number, auctions: number[]]>
  open(ctx: { getState<V>(d: ValueStateDescriptor<V>): ValueState<V> }): void {
    this.best = ctx.getState(new ValueStateDescriptor<[number, number[]]>('hottest'))
  }
  processElement(c: Count, ctx: Parameters<KeyedProcessFunction<number, Count, string>['processElement']>[1]): void {
    const best = this.best.value()
    // One timer per window end (this key): registered with the window's first count.
    if (best === undefined) ctx.timerService().registerEventTimeTimer(c[2] - 1)
    // Stored values are shared with snapshots: a new value, never one changed in place.
    if (best === undefined || c[1] > best[0]) this.best.update([c[1], [c[0]]])
    else if (c[1] === best[0]) this.best.update([best[0], [...best[1], c[0]]])
  }
  onTimer(time: number, _ctx: unknown, out: { collect(s: string): void }): void {
    const best = this.best.value()
    if (best !== undefined) for (const auction of best[1]) out.collect(`${time + 1},${auction},${best[0]}`)
    this.best.clear()
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
  const out = counts.filter(new WindowCandidates()).name('Window Candidates').keyBy((c) => c[2]).process(new HottestPerWindow())
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
