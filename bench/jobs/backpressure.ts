// A job under steady back-pressure, for the `backpressure` configuration of bench/wordcount.ts:
// a fast source (fromSequence over a range it never exhausts in a run), keyBy to a stateful map
// (a KeyedProcessFunction keeping a count per key in ValueState), and a sink that busy-waits
// --sink-us microseconds per record, so the sink is the bottleneck and the network buffers
// between the source and the map stay full. The bench cancels it after a fixed time.
//
//   npx weir run bench/jobs/backpressure.ts [--keys 10000] [--sink-us 10] [--to 1e12]

import { defineJob, ValueStateDescriptor, type Collector, type KeyedContext, type KeyedProcessFunction, type RuntimeContext, type Sink, type SinkWriter, type ValueState } from 'weir-stream'

class CountPerKey implements KeyedProcessFunction<number, number, [number, number]> {
  private count!: ValueState<number>
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0))
  }
  processElement(value: number, ctx: KeyedContext<number>, out: Collector<[number, number]>): void {
    const n = this.count.value() + 1
    this.count.update(n)
    out.collect([ctx.getCurrentKey(), n])
  }
}

/** Spends `micros` of CPU per record. */
class SlowSink implements Sink<[number, number]> {
  constructor(private readonly micros: number) {}
  createWriter(): SinkWriter<[number, number]> {
    const ms = this.micros / 1000
    let sink = 0
    return {
      write(record) {
        const until = performance.now() + ms
        while (performance.now() < until) sink ^= record[1]
      },
      flush() {},
      close() {
        if (sink === 0.5) console.log(sink) // keeps the loop from being optimised away
      },
    }
  }
}

export default defineJob('Back-pressure', (env) => {
  const keys = Number(env.params.keys ?? '10000')
  const sinkUs = Number(env.params['sink-us'] ?? '10')
  const to = Number(env.params.to ?? '1e12')

  env.fromSequence(0, to).uid('sequence')
    .keyBy((n) => n % keys)
    .process(new CountPerKey()).name('Count per key').uid('count')
    .sinkTo(new SlowSink(sinkUs), 'Slow sink').uid('slow-sink')
})
