// Nexmark q3 (local item suggestion): the people in Oregon, Idaho or California who sell in category 10, as (name, city, state, auction id): a regular (unwindowed) join of auctions and persons on seller = id.
import { defineJob, ValueStateDescriptor, ListStateDescriptor, type Auction, type KeyedCoProcessFunction, type NexmarkEvent, type Person, type ValueState, type ListState, type RuntimeContext } from 'weir-stream'
import { auctions, nexmarkEvents, persons, sink } from './common.ts'

const STATES = new Set(['OR', 'ID', 'CA'])
type Q3 = [name: string, city: string, state: string, id: number]

/** Keeps the person (once seen) and the auctions that arrived before it; emits each match once. */
class SellerJoin implements KeyedCoProcessFunction<number, Auction, Person, Q3> {
  private person!: ValueState<Person | null>
  private waiting!: ListState<number>
  open(ctx: RuntimeContext): void {
    this.person = ctx.getState(new ValueStateDescriptor<Person | null>('person', null))
    this.waiting = ctx.getListState(new ListStateDescriptor<number>('auctions'))
  }
  processElement1(a: Auction, _ctx: unknown, out: { collect(r: Q3): void }): void {
    const p = this.person.value()
    if (p) out.collect([p.name, p.city, p.state, a.id])
    else this.waiting.add(a.id)
  }
  processElement2(p: Person, _ctx: unknown, out: { collect(r: Q3): void }): void {
    this.person.update(p)
    for (const id of this.waiting.get()) out.collect([p.name, p.city, p.state, id])
    this.waiting.clear()
  }
}

export default defineJob('Nexmark q3', (env) => {
  const events = nexmarkEvents(env)
  const a = auctions(events).filter((x) => x.category === 10)
  const p = persons(events).filter((x) => STATES.has(x.state))
  const out = a.connect(p).keyBy((x) => x.seller, (x) => x.id).process(new SellerJoin() as KeyedCoProcessFunction<unknown, Auction, Person, Q3>)
  sink(env, out, (r) => r.join(','))
})

export function reference(events: Iterable<NexmarkEvent>): string[] {
  const people = new Map<number, Person>()
  const sold: Auction[] = []
  for (const e of events) {
    if (e.type === 0 && STATES.has(e.state)) people.set(e.id, e)
    if (e.type === 1 && e.category === 10) sold.push(e)
  }
  const out: string[] = []
  for (const a of sold) {
    const p = people.get(a.seller)
    if (p) out.push([p.name, p.city, p.state, a.id].join(','))
  }
  return out
}
