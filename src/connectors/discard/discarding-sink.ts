// A sink that drops every record and only counts them (Flink's DiscardingSink): for benchmarks
// and for jobs whose output is a side effect.

import type { Sink, SinkWriter } from '../../api/sink.ts'

export class DiscardingSink<T> implements Sink<T> {
  createWriter(): SinkWriter<T> {
    return { write() {}, flush() {}, close() {} }
  }
}
