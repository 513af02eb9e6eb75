// The benchmark's word count (bench/jobs/wordcount-discard.ts) with one injected failure, for
// the `recovery` configuration of bench/wordcount.ts. In attempt 0 only, the tokenizer of one
// subtask (--fail-subtask S; -1: whichever gets there first) throws once it has read --fail-after lines and at least --min-checkpoints checkpoints
// have completed, or at the latest at line --fail-by (so that a short run fails too, then
// restarting from the beginning); the job then restarts from the latest checkpoint. The job writes its own
// timings as small JSON files into --marks DIR (the bench reads them afterwards):
//
//   fail.json                 {at: Date.now() just before the throw, subtask, lines, checkpoints}
//   resume-a<A>-s<S>.json     {at: Date.now() when subtask S's tokenizer got its first line in attempt A >= 1}
//   final-a<A>-s<S>.json      the sink's last count of every word it saw, written at the end of input
//
// The sink keeps, per subtask, the last count emitted for each word, and takes part in
// checkpoints (the map is its state), so after the restore it still knows the words that do
// not occur again after the checkpoint. With exactly-once state, the sum of these last counts
// over all words is the corpus's word count: a lost record makes it smaller, a record counted
// twice larger.
//
//   npx weir run bench/jobs/wordcount-fail-once.ts --input FILE --fail-after N --marks DIR \
//     [--fail-by M] [--fail-subtask 0|-1] [--min-checkpoints 1]

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineJob, type Collector, type RuntimeContext, type Sink, type SinkWriter, type SinkWriterContext } from 'weir-stream'
import { tokenize } from '../../examples/wordcount.ts'

class FailOnceTokenizer {
  private attempt = -1
  private subtask = -1
  private lines = 0
  private checkpoints = 0
  private failed = false
  private resumed = false
  constructor(private readonly marks: string, private readonly failAfter: number, private readonly failBy: number, private readonly failSubtask: number, private readonly minCheckpoints: number) {}

  open(ctx: RuntimeContext): void {
    this.attempt = ctx.attemptNumber
    this.subtask = ctx.subtaskIndex
  }

  notifyCheckpointComplete(): void {
    this.checkpoints++
  }

  flatMap(line: string, out: Collector<[string, number]>): void {
    this.lines++
    if (this.attempt === 0) {
      if (!this.failed && (this.failSubtask < 0 || this.subtask === this.failSubtask) && this.lines >= this.failAfter && (this.checkpoints >= this.minCheckpoints || this.lines >= this.failBy)) {
        this.failed = true
        const at = Date.now()
        try {
          // 'wx': only the first subtask to get here fails the job (with --fail-subtask -1).
          writeFileSync(join(this.marks, 'fail.json'), JSON.stringify({ at, subtask: this.subtask, lines: this.lines, checkpoints: this.checkpoints }), { flag: 'wx' })
        } catch {
          return tokenize(line, out)
        }
        throw new Error(`injected failure: subtask ${this.subtask}, attempt 0, line ${this.lines}`)
      }
    } else if (!this.resumed) {
      this.resumed = true
      writeFileSync(join(this.marks, `resume-a${this.attempt}-s${this.subtask}.json`), JSON.stringify({ at: Date.now(), attempt: this.attempt, subtask: this.subtask }))
    }
    tokenize(line, out)
  }
}

/** Keeps the last count of every word; its checkpointed state is that map. */
class LastCountSink implements Sink<[string, number]> {
  constructor(private readonly marks: string) {}

  createWriter(ctx: SinkWriterContext, restored: unknown[]): SinkWriter<[string, number]> {
    const last = new Map<string, number>()
    for (const state of restored) {
      for (const [word, count] of state as Array<[string, number]>) last.set(word, Math.max(count, last.get(word) ?? 0))
    }
    const file = join(this.marks, `final-a${ctx.attemptNumber}-s${ctx.subtaskIndex}.json`)
    return {
      write(record) {
        last.set(record[0], record[1])
      },
      flush(endOfInput) {
        if (endOfInput) writeFileSync(file, JSON.stringify([...last]))
      },
      close() {},
      // A copy: the snapshot is serialized after the barrier has moved on.
      snapshotState: () => [...last],
    }
  }
}

export default defineJob('WordCount (fail once)', (env) => {
  const { input, marks } = env.params
  if (input === undefined) throw new Error('--input FILE is required')
  if (marks === undefined) throw new Error('--marks DIR is required')
  const failAfter = Number(env.params['fail-after'] ?? '1')
  const failBy = Number(env.params['fail-by'] ?? String(Number.MAX_SAFE_INTEGER))
  const failSubtask = Number(env.params['fail-subtask'] ?? '0')
  const minCheckpoints = Number(env.params['min-checkpoints'] ?? '1')

  env.readTextFile(input).uid('lines')
    .flatMap(new FailOnceTokenizer(marks, failAfter, failBy, failSubtask, minCheckpoints)).name('Tokenizer').uid('tokenizer')
    .keyBy((pair) => pair[0])
    .sum(1).name('Count').uid('count')
    .sinkTo(new LastCountSink(marks), 'Last Count').uid('last-count')
})
