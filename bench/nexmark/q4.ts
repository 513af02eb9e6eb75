// Nexmark q4 (average price per category): the average, per category, of the winning (highest) bid of each auction among the bids placed while it was open.
import { defineJob, ValueStateDescriptor, ListStateDescriptor, type Auction, type Bid, type KeyedCoProcessFunction, type KeyedProcessFunction, type NexmarkEvent, type ValueState, type ListState, type RuntimeContext } from 'weir-stream'
import { auctions, bids, nexmarkEvents, sink } from './common.ts'

type Open = { category: number; dateTime: number; expires: number }
type Final = [category: number, price: number]

/** Per auction: its interval and the highest bid in it; emits (category, max) when the auction closes (an event-time timer at expires). */
class WinningBid implements KeyedCoProcessFunction<number, Auction, Bid, Final> {
  private auction!: ValueState<Open | null>
  private max!: ValueState<number | null>
  private early!: ListState<[number, number]>
  open(ctx: RuntimeContext): void {
    this.auction = ctx.getState(new ValueStateDescriptor<Open | null>('auction', null))
    this.max = ctx.getState(new ValueStateDescriptor<number | null>('max', null))
    this.early = ctx.getListState(new ListStateDescriptor<[number, number]>('early-bids'))
  }
  processElement1(a: Auction, ctx: Parameters<KeyedCoProcessFunction<number, Auction, Bid, Final>['processElement1']>[1]): void {
    this.auction.update({ category: a.category, dateTime: a.dateTime, expires: a.expires })
    let max = this.max.value()
    for (const [t, price] of this.early.get()) if (t >= a.dateTime && t <= a.expires && (max === null || price > max)) max = price
    this.early.clear()
    if (max !== null) this.max.update(max)
    ctx.timerService().registerEventTimeTimer(a.expires)
  }
  processElement2(b: Bid, ctx: Parameters<KeyedCoProcessFunction<number, Auction, Bid, Final>['processElement2']>[1]): void {
    const a = this.auction.value()
    if (a === null) {
      // A bid may come before its auction (same millisecond): keep it until the watermark passes it.
      this.early.add([b.dateTime, b.price])
      ctx.timerService().registerEventTimeTimer(b.dateTime)
      return
    }
    if (b.dateTime < a.dateTime || b.dateTime > a.expires) return
    const max = this.max.value()
    if (max === null || b.price > max) this.max.update(b.price)
  }
  onTimer(time: number, _ctx: unknown, out: { collect(r: Final): void }): void {
    const a = this.auction.value()
    if (a !== null && time === a.expires) {
      const max = this.max.value()
      if (max !== null) out.collect([a.category, max])
      this.auction.clear()
      this.max.clear()
    } else if (a === null) {
      this.early.update(this.early.get().filter(([t]) => t > time))
    }
  }
}

/**
 * Running average (integer, as Flink's AVG of BIGINT) of the final prices per category. Its state
 * handle is a field of an instance the job builds per slot, not a module variable: slots that
 * share a thread share the module, so a module variable would hand one subtask another's state.
 */
class Average implements KeyedProcessFunction<number, Final, string> {
  private sumAndCount!: ValueState<[number, number]>
  open(ctx: RuntimeContext): void {
    this.sumAndCount = ctx.getState(new ValueStateDescriptor<[number, number]>('avg', [0, 0]))
  }
  processElement(f: Final, _ctx: unknown, out: { collect(r: string): void }): void {
    const [sum, n] = this.sumAndCount.value()
    this.sumAndCount.update([sum + f[1], n + 1])
    out.collect(`${f[0]},${Math.trunc((sum + f[1]) / (n + 1))}`)
  }
}

export default defineJob('Nexmark q4', (env) => {
  const events = nexmarkEvents(env)
  const finals = auctions(events).connect(bids(events)).keyBy((a) => a.id, (b) => b.auction)
    .process(new WinningBid() as KeyedCoProcessFunction<unknown, Auction, Bid, Final>)
  const out = finals.keyBy((f) => f[0]).process(new Average())
  sink(env, out, (s) => s)
})

/** The final average per category, "category,avg". */
export function reference(events: Iterable<NexmarkEvent>): string[] {
  const open = new Map<number, Auction>()
  const allBids: Bid[] = []
  for (const e of events) {
    if (e.type === 1) open.set(e.id, e)
    else if (e.type === 2) allBids.push(e)
  }
  const max = new Map<number, number>()
  for (const b of allBids) {
    const a = open.get(b.auction)
    if (!a || b.dateTime < a.dateTime || b.dateTime > a.expires) continue
    max.set(a.id, Math.max(max.get(a.id) ?? -Infinity, b.price))
  }
  const byCategory = new Map<number, [number, number]>()
  for (const [id, price] of max) {
    const c = open.get(id)!.category
    const [s, n] = byCategory.get(c) ?? [0, 0]
    byCategory.set(c, [s + price, n + 1])
  }
  return [...byCategory].map(([c, [s, n]]) => `${c},${Math.trunc(s / n)}`)
}

/** The job's output reduced to its final value per category. */
export function finalValues(lines: string[]): string[] {
  const last = new Map<string, string>()
  for (const l of lines) last.set(l.split(',')[0]!, l)
  return [...last.values()]
}
