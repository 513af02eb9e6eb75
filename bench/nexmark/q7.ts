// Nexmark q7 (highest bid): in every 10 s tumbling window, the bids with the highest price of the window.
import { defineJob, ValueStateDescriptor, ListStateDescriptor, type Bid, type KeyedProcessFunction, type ListState, type NexmarkEvent, type RuntimeContext, type ValueState } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

const SIZE = 10_000
const fmt = (b: Bid) => `${b.auction},${b.price},${b.bidder},${b.dateTime}`

/** Keyed by window: the highest price so far and the bids that have it; emitted when the watermark passes the window. */
class HighestBid implements KeyedProcessFunction<number, Bid, Bid> {
  private max!: ValueState<number>
  private top!: ListState<Bid>
  open(ctx: RuntimeContext): void {
    this.max = ctx.getState(new ValueStateDescriptor<number>('max', -1))
    this.top = ctx.getListState(new ListStateDescriptor<Bid>('top'))
  }
  processElement(b: Bid, ctx: Parameters<KeyedProcessFunction<number, Bid, Bid>['processElement']>[1]): void {
    const max = this.max.value()
    if (b.price < max) return
    if (b.price > max) {
      this.max.update(b.price)
      this.top.update([b])
      ctx.timerService().registerEventTimeTimer(ctx.getCurrentKey() * SIZE + SIZE - 1)
    } else {
      this.top.add(b)
    }
  }
  onTimer(_time: number, _ctx: unknown, out: { collect(b: Bid): void }): void {
    for (const b of this.top.get()) out.collect(b)
    this.top.clear()
    this.max.clear()
  }
}

export default defineJob('Nexmark q7', (env) => {
  const out = bids(nexmarkEvents(env)).keyBy((b) => Math.floor(b.dateTime / SIZE)).process(new HighestBid())
  sink(env, out, fmt)
})

/** Window bounds [start, end) (the SQL's BETWEEN also takes a bid at exactly the end; see the report). */
export function reference(events: Iterable<NexmarkEvent>): string[] {
  const perWindow = new Map<number, Bid[]>()
  for (const e of events) {
    if (e.type !== 2) continue
    const w = Math.floor(e.dateTime / SIZE)
    const list = perWindow.get(w) ?? []
    list.push(e)
    perWindow.set(w, list)
  }
  const out: string[] = []
  for (const list of perWindow.values()) {
    const max = Math.max(...list.map((b) => b.price))
    for (const b of list) if (b.price === max) out.push(fmt(b))
  }
  return out
}
