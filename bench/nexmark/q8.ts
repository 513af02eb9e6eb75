// Nexmark q8 (monitor new users): the people who opened an auction in the same 10 s tumbling window in which they registered, as (id, name, window start).
import { defineJob, TumblingEventTimeWindows, type NexmarkEvent, type Person } from 'weir-stream'
import { auctions, nexmarkEvents, persons, sink } from './common.ts'

const SIZE = 10_000
type Q8 = [id: number, name: string, start: number]

export default defineJob('Nexmark q8', (env) => {
  const events = nexmarkEvents(env)
  const out = persons(events).coGroup(auctions(events)).where((p) => p.id).equalTo((a) => a.seller).window(TumblingEventTimeWindows.of(SIZE))
    .apply<Q8>((ps, as, collector) => {
      if ([...as].length === 0) return
      for (const p of ps) collector.collect([p.id, p.name, Math.floor(p.dateTime / SIZE) * SIZE])
    })
  sink(env, out, (r) => r.join(','))
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const people = new Map<string, Person>()
  const sellers = new Set<string>()
  for (const e of events) {
    if (e.type === 0) people.set(`${e.id}@${Math.floor(e.dateTime / SIZE)}`, e)
    if (e.type === 1) sellers.add(`${e.seller}@${Math.floor(e.dateTime / SIZE)}`)
  }
  const out: string[] = []
  for (const [k, p] of people) if (sellers.has(k)) out.push([p.id, p.name, Math.floor(p.dateTime / SIZE) * SIZE].join(','))
  return out
}
