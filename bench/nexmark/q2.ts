// Nexmark q2 (selection): the auction and price of the bids on auctions whose id is a multiple of 123.
import { defineJob, type NexmarkEvent } from 'weir-stream'
import { bids, nexmarkEvents, sink } from './common.ts'

export default defineJob('Nexmark q2', (env) => {
  const out = bids(nexmarkEvents(env)).filter((b) => b.auction % 123 === 0).map((b): [number, number] => [b.auction, b.price])
  sink(env, out, (r) => `${r[0]},${r[1]}`)
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const out: string[] = []
  for (const e of events) if (e.type === 2 && e.auction % 123 === 0) out.push(`${e.auction},${e.price}`)
  return out
}
