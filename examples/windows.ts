// Event-time windows: lines "key,timestamp,value" are counted per key in 10-second tumbling
// windows; a generator keeps the watermark 1 s behind the highest timestamp, windows accept
// elements up to 3 s late (late firings update them), and what is later still goes to a side
// output. Run: weir run examples/windows.ts --input events.csv
import { defineJob, WatermarkStrategy, TumblingEventTimeWindows, OutputTag } from 'weir-stream'
type Ev = { key: string; ts: number; v: number }
export default defineJob('Windows', (env) => {
  const late = new OutputTag<Ev>('late')
  const windows = env.readTextFile(env.params.input!)
    .map((line): Ev => { const [key, ts, v] = line.split(','); return { key: key!, ts: Number(ts), v: Number(v) } })
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forGenerator<Ev>(() => {
        let maxTs = -Infinity
        return {
          onEvent(_e: Ev, ts: number, output: { emitWatermark(t: number): void }) { maxTs = Math.max(maxTs, ts); output.emitWatermark(maxTs - 1000) },
          onPeriodicEmit() {},
        }
      }).withTimestampAssigner((e: Ev) => e.ts))
    .keyBy((e) => e.key)
    .window(TumblingEventTimeWindows.of(10_000))
    .allowedLateness(3_000)
    .sideOutputLateData(late)
    .process((key: string, ctx, elements: Iterable<Ev>, out) => {
      let n = 0
      for (const _ of elements) n++
      out.collect(`${key} ${ctx.window().start} ${ctx.window().end} ${n}`)
    })
  windows.print()
  windows.getSideOutput(late).map((e) => `late ${e.key} ${e.ts}`).print()
})
