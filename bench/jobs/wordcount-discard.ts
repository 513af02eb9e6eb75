// The word count of examples/wordcount.ts ending in a DiscardingSink instead of print(): the
// job that bench/wordcount.ts measures. Same tokenizer, same keyBy and rolling sum, so every
// word still produces its updated count; the sink only counts the records it receives.
//
//   npx weir run bench/jobs/wordcount-discard.ts --input FILE

import { defineJob, DiscardingSink } from 'weir-stream'
import { tokenize } from '../../examples/wordcount.ts'

export default defineJob('WordCount (discard)', (env) => {
  const { input } = env.params
  if (input === undefined) throw new Error('--input FILE is required')

  env.readTextFile(input)
    .flatMap(tokenize).name('Tokenizer')
    .keyBy((pair) => pair[0])
    .sum(1).name('Count')
    .sinkTo(new DiscardingSink<[string, number]>(), 'Discard')
})
