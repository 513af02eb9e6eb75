// How the word count's keyBy divides a corpus between the counting subtasks at -p N: each word
// goes to the subtask that owns its key group (Flink's hashing, src/state/key-groups.ts), so a
// Zipf corpus, whose most frequent word alone is about a tenth of the text, is not divided in
// halves. The busiest subtask's share of the words bounds what -p N can reach over -p 1 however
// cheap the exchange is, and the word count benchmark prints it beside -p 2's figures. Counted
// once per corpus, with the job's own tokenizer, and cached beside the corpus.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { assignKeyToOperator } from '../src/state/key-groups.ts'
export { defaultMaxParallelism } from '../src/state/key-groups.ts'
import { tokenize } from '../examples/wordcount.ts'
import type { CorpusInfo } from './corpus.ts'

export interface KeyedSplit {
  readonly parallelism: number
  readonly maxParallelism: number
  /** Per subtask, the share of all words it counts (sums to 1). */
  readonly shares: readonly number[]
  /** The largest share: the busiest subtask. */
  readonly busiest: number
}

/** The split of `corpus` at `parallelism` and `maxParallelism` (counted once, then read from a cache file). */
export function keyedSplit(corpus: CorpusInfo, parallelism: number, maxParallelism: number): KeyedSplit {
  const cache = `${corpus.path}.split-p${parallelism}-m${maxParallelism}.json`
  if (existsSync(cache)) {
    const cached = JSON.parse(readFileSync(cache, 'utf8')) as KeyedSplit
    if (cached.shares.length === parallelism) return cached
  }
  const perWord = new Map<string, number>()
  const counter = { collect: (pair: [string, number]) => perWord.set(pair[0], (perWord.get(pair[0]) ?? 0) + 1) }
  const text = readFileSync(corpus.path, 'utf8')
  let from = 0
  while (from < text.length) {
    let to = text.indexOf('\n', from)
    if (to < 0) to = text.length
    tokenize(text.slice(from, to), counter)
    from = to + 1
  }
  const counts = new Array<number>(parallelism).fill(0)
  let total = 0
  for (const [word, n] of perWord) {
    counts[assignKeyToOperator(word, maxParallelism, parallelism)]! += n
    total += n
  }
  const shares = counts.map((c) => c / Math.max(1, total))
  const split: KeyedSplit = { parallelism, maxParallelism, shares, busiest: Math.max(...shares) }
  const tmp = `${cache}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(split) + '\n')
  renameSync(tmp, cache)
  return split
}
