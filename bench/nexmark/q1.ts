// Nexmark q1 (currency conversion): every bid with its price converted from dollars to euros (0.908 * price, 3 decimals).
import { defineJob, type NexmarkEvent } from 'weir-stream'
import { bids, dollarsToEuros, nexmarkEvents, sink } from './common.ts'

type Q1 = { auction: number; bidder: number; price: string; dateTime: number; extra: string }
const fmt = (r: Q1) => `${r.auction},${r.bidder},${r.price},${r.dateTime}`

export default defineJob('Nexmark q1', (env) => {
  const out = bids(nexmarkEvents(env)).map((b): Q1 => ({ auction: b.auction, bidder: b.bidder, price: dollarsToEuros(b.price), dateTime: b.dateTime, extra: b.extra }))
  sink(env, out, fmt)
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const out: string[] = []
  for (const e of events) if (e.type === 2) out.push(`${e.auction},${e.bidder},${dollarsToEuros(e.price)},${e.dateTime}`)
  return out
}
