// The word count of the source documents. With no arguments it reads lines from a socket
// (run `nc -lk 9000` first, then type "hello world" twice); with --input FILE it counts the
// words of a file. For every word it reads it emits the word's updated count, as Flink's
// sum() does: (hello,1) (world,1), then (hello,2) (world,2).
//
//   npx weir run examples/wordcount.ts [--host localhost] [--port 9000]
//   npx weir run examples/wordcount.ts --input README.md
//   npx weir run examples/wordcount.ts --input README.md --output out/   (exactly-once files)
//   npx weir run examples/wordcount.ts --input DIR --monitor 1s           (a growing directory; never ends)

import { defineJob, FileSink, type Collector } from 'weir-stream'

/** Lower-cases a line and splits it on anything that is not a letter or a digit. */
export function tokenize(line: string, out: Collector<[string, number]>): void {
  for (const word of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length > 0) out.collect([word, 1])
  }
}

export default defineJob('WordCount', (env) => {
  const { input, output, monitor, host = 'localhost', port = '9000' } = env.params
  const lines = input !== undefined
    ? env.readTextFile(input, monitor !== undefined ? { monitorInterval: monitor } : {}).uid('lines')
    : env.socketTextStream(host, Number(port)).uid('lines')

  const counts = lines
    .flatMap(tokenize).name('Tokenizer').uid('tokenizer')
    .keyBy((pair) => pair[0])
    .sum(1).name('Count').uid('count')

  if (output !== undefined) counts.sinkTo(new FileSink<[string, number]>(output), 'File Sink').uid('file-sink')
  else counts.print().uid('print')
})
