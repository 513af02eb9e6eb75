// What every Nexmark query job shares: the source (NexmarkSource with Nexmark's watermark,
// 4 s of bounded out-of-orderness, per split) from the job's arguments, the filters by event
// kind, and the sink: `--sink print` prints the results (the tests compare them with a
// reference computation), otherwise they are discarded (Nexmark's blackhole sink).
//   --events N (default 1,000,000)  --rate EVENTS_PER_S (default 10,000,000)  --seed S (default 1)
//   --linger MS|forever (the source waits this long after its last event before it ends; forever:
//   it never ends, the job runs until canceled; default 0)
import { DiscardingSink, NexmarkSource, WatermarkStrategy, type Auction, type Bid, type DataStream, type NexmarkEvent, type Person, type StreamEnvironment } from 'weir-stream'

export function nexmarkEvents(env: StreamEnvironment): DataStream<NexmarkEvent> {
  const p = env.params
  const source = new NexmarkSource({
    events: Number(p.events ?? '1000000'),
    firstEventRate: Number(p.rate ?? '10000000'),
    seed: Number(p.seed ?? '1'),
    lingerMs: p.linger === 'forever' ? Infinity : Number(p.linger ?? '0'),
  })
  return env.fromSource(source, WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(4000), 'Nexmark Source').uid('nexmark-source')
}

export const bids = (events: DataStream<NexmarkEvent>): DataStream<Bid> => events.filter((e) => e.type === 2).name('Bids') as unknown as DataStream<Bid>
export const auctions = (events: DataStream<NexmarkEvent>): DataStream<Auction> => events.filter((e) => e.type === 1).name('Auctions') as unknown as DataStream<Auction>
export const persons = (events: DataStream<NexmarkEvent>): DataStream<Person> => events.filter((e) => e.type === 0).name('Persons') as unknown as DataStream<Person>

export function sink<T>(env: StreamEnvironment, results: DataStream<T>, format: (r: T) => string): void {
  if (env.params.sink === 'print') results.map(format).print()
  else results.sinkTo(new DiscardingSink<T>(), 'Blackhole').uid('blackhole')
}

/** 0.908 * price as DECIMAL(23, 3): exact in thousandths. */
export function dollarsToEuros(price: number): string {
  const m = price * 908
  return `${Math.floor(m / 1000)}.${String(m % 1000).padStart(3, '0')}`
}
