// The word count benchmark's keyed split: the share of a corpus's words that each counting
// subtask gets, counted with the job's tokenizer and Flink's key-group hashing, and cached.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keyedSplit } from '../../bench/keyed-split.ts'
import type { CorpusInfo } from '../../bench/corpus.ts'
import { assignKeyToOperator } from '../../src/state/key-groups.ts'

function corpusOf(dir: string, text: string): CorpusInfo {
  const path = join(dir, 'corpus.txt')
  writeFileSync(path, text)
  return { path, words: 0, seed: 0, vocabulary: 0, exponent: 1, bytes: text.length, lines: 0, distinctUsed: 0, top10Share: 0, meanWordLength: 0, version: 1, generatedSeconds: 0 }
}

test('keyed split: each subtask gets the share of the words whose key groups it owns, words as the tokenizer splits them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-split-'))
  try {
    // Two words on different subtasks of -p 2 at max parallelism 128.
    const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'kappa']
    const a = words.find((w) => assignKeyToOperator(w, 128, 2) === 0)!
    const b = words.find((w) => assignKeyToOperator(w, 128, 2) === 1)!
    // Case and punctuation do not make other keys: three of a, one of b.
    const corpus = corpusOf(dir, `${a.toUpperCase()}, ${a}. ${b}\n"${a}"\n`)
    const split = keyedSplit(corpus, 2, 128)
    assert.deepEqual(split.shares, [0.75, 0.25])
    assert.equal(split.busiest, 0.75)
    assert.ok(existsSync(`${corpus.path}.split-p2-m128.json`))
    // Another max parallelism is counted again, not read from the first one's cache.
    const other = keyedSplit(corpus, 2, 256)
    assert.equal(other.maxParallelism, 256)
    assert.equal(other.shares.reduce((x, y) => x + y, 0), 1)
    // The cache answers without the corpus.
    rmSync(corpus.path)
    assert.deepEqual(keyedSplit(corpus, 2, 128), split)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
