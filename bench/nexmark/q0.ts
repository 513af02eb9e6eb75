// Nexmark q0 (pass-through): every bid, projected to (auction, bidder, price, dateTime, extra); measures the bare cost of reading and moving events.
import { defineJob, type Bid, type NexmarkEvent } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

type Q0 = { auction: number; bidder: number; price: number; dateTime: number; extra: string }
const fmt = (r: Q0) => `${r.auction},${r.bidder},${r.price},${r.dateTime}`

export default defineJob('Nexmark q0', (env) => {
  const out = bids(nexmarkEvents(env)).map((b): Q0 => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra }))
  sink(env, out, fmt)
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const out: string[] = []
  for (const e of events) if (e.type === 2) out.push(fmt(e as Bid))
  return out
}
