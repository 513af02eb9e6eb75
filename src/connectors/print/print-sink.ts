// print(): writes each record as a line to standard output, prefixed "k> " (k = subtask + 1)
// when the sink runs with parallelism above 1, as Flink does. Lines are gathered and written
// in chunks of whole lines on the task's thread; the runtime decides where the text goes (the
// process's stdout directly, or through the main thread while a status line is drawn).

import type { Sink, SinkWriter, SinkWriterContext } from '../../api/sink.ts'
import { formatRecord } from './format.ts'
import { stdoutWriter } from './stdout.ts'

// Below PIPE_BUF (4096 bytes), so that chunks from parallel subtasks do not interleave mid-line in a pipe.
const CHUNK_CHARS = 3000

export class PrintSink<T> implements Sink<T> {
  constructor(readonly prefix?: string) {}
  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const subtask = ctx.parallelism > 1 ? `${ctx.subtaskIndex + 1}> ` : ''
    const prefix = this.prefix ? `${this.prefix}:${subtask === '' ? ' ' : subtask}` : subtask
    return new PrintWriter<T>(prefix)
  }
}

class PrintWriter<T> implements SinkWriter<T> {
  private text = ''
  constructor(private readonly prefix: string) {}
  write(record: T): void {
    this.text += this.prefix + formatRecord(record) + '\n'
    if (this.text.length >= CHUNK_CHARS) this.flush()
  }
  flush(): void {
    if (this.text.length === 0) return
    stdoutWriter.write(this.text)
    this.text = ''
  }
  close(): void {
    this.flush()
  }
}
