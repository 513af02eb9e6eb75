// A synthetic text corpus for the word count benchmark: words drawn from a Zipf distribution
// over a fixed vocabulary, so a few words are very frequent and most are rare, as in natural
// text. Everything is derived from one seed with a small PRNG, so a corpus of a given size is
// the same file on every machine; it is generated once and cached with a .json of its facts.
//
// Every generated word is exactly one token of examples/wordcount.ts's tokenizer (letters and
// digits only; punctuation and spaces only between words), so the number of words written is
// the number of records the job must count.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** Bump when the generator's output changes, so stale cached files are not reused. */
const GENERATOR_VERSION = 1

export interface CorpusOptions {
  readonly words: number
  readonly seed: number
  /** Distinct vocabulary entries. */
  readonly vocabulary: number
  /** Zipf exponent s: P(rank r) ∝ 1 / r^s. */
  readonly exponent: number
}

export const DEFAULT_CORPUS: Omit<CorpusOptions, 'words'> = { seed: 0x5eed_2024, vocabulary: 100_000, exponent: 1.07 }

export interface CorpusInfo extends CorpusOptions {
  readonly path: string
  readonly bytes: number
  readonly lines: number
  /** Vocabulary entries that occur at least once. */
  readonly distinctUsed: number
  /** Share of all words taken by the 10 most frequent vocabulary entries. */
  readonly top10Share: number
  readonly meanWordLength: number
  readonly version: number
  /** Seconds it took to generate (0 when it came from the cache). */
  readonly generatedSeconds: number
}

/** mulberry32: a tiny, fast 32-bit PRNG; plenty for shaping text. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// English letter frequencies (per cent), so words look vaguely like words.
const LETTERS = 'etaoinshrdlcumwfgypbvkjxqz'
const LETTER_WEIGHTS = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07]
// Some non-ASCII letters (multi-byte in UTF-8; \p{L} must keep them inside words).
const ACCENTED = 'éèüöäñçøåí'

function cumulative(weights: readonly number[]): Float64Array {
  const cdf = new Float64Array(weights.length)
  let sum = 0
  for (let i = 0; i < weights.length; i++) cdf[i] = sum += weights[i]!
  for (let i = 0; i < cdf.length; i++) cdf[i]! /= sum
  return cdf
}

/** The first index whose cumulative probability is >= u. */
function pick(cdf: Float64Array, u: number): number {
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (cdf[mid]! < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

interface Vocabulary {
  readonly words: string[]
  /** Proper nouns: always written capitalized. */
  readonly capitalized: Uint8Array
}

/** Vocabulary by rank (0 = most frequent): frequent words are short, rare ones long. */
function makeVocabulary(size: number, rnd: () => number): Vocabulary {
  const letterCdf = cumulative(LETTER_WEIGHTS)
  const seen = new Set<string>()
  const words: string[] = []
  const capitalized = new Uint8Array(size)
  for (let rank = 1; words.length < size; rank++) {
    let word = ''
    const kind = rnd()
    if (kind < 0.005) {
      // numbers: years, counts
      for (let attempt = 0; word === '' || seen.has(word); attempt++) {
        word = String(Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 4 + attempt / 10))))
      }
    } else {
      const mean = 2.2 + 0.6 * Math.log(rank)
      let length = Math.max(1, Math.min(20, Math.round(mean + (rnd() + rnd() + rnd() - 1.5) * 2.5)))
      for (let attempt = 0; word === '' || seen.has(word); attempt++) {
        if (attempt > 0 && attempt % 20 === 0) length++
        let w = ''
        for (let i = 0; i < length; i++) {
          if (i > 0 && rnd() < 0.004) w += ACCENTED[Math.floor(rnd() * ACCENTED.length)]
          else if (kind > 0.998 && i === length - 1) w += String(Math.floor(rnd() * 10)) // a few alphanumerics
          else w += LETTERS[pick(letterCdf, rnd())]
        }
        word = w
      }
      if (rank > 50 && rnd() < 0.04) capitalized[words.length] = 1
    }
    seen.add(word)
    words.push(word)
  }
  return { words, capitalized }
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1)
}

function corpusPaths(dir: string, o: CorpusOptions): { text: string; meta: string } {
  const base = `corpus-w${o.words}-v${o.vocabulary}-s${o.exponent}-seed${o.seed}-g${GENERATOR_VERSION}`
  return { text: join(dir, `${base}.txt`), meta: join(dir, `${base}.json`) }
}

/** The cached corpus for these options, generating it first if needed. */
export function ensureCorpus(dir: string, options: CorpusOptions, log: (message: string) => void): CorpusInfo {
  const paths = corpusPaths(dir, options)
  if (existsSync(paths.text) && existsSync(paths.meta)) {
    const info = JSON.parse(readFileSync(paths.meta, 'utf8')) as CorpusInfo
    if (statSync(paths.text).size === info.bytes) return { ...info, path: paths.text, generatedSeconds: 0 }
  }
  mkdirSync(dir, { recursive: true })
  log(`generating ${options.words.toLocaleString('en-US')} words into ${paths.text} ...`)
  const started = performance.now()
  const info = generate(paths.text, options)
  const result: CorpusInfo = { ...info, generatedSeconds: (performance.now() - started) / 1000 }
  writeFileSync(paths.meta, JSON.stringify(result, null, 2) + '\n')
  return result
}

function generate(path: string, o: CorpusOptions): Omit<CorpusInfo, 'generatedSeconds'> {
  const rnd = mulberry32(o.seed)
  const vocab = makeVocabulary(o.vocabulary, rnd)
  const zipf = cumulative(Array.from({ length: o.vocabulary }, (_, i) => 1 / (i + 1) ** o.exponent))
  const counts = new Uint32Array(o.vocabulary)

  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w')
  let bytes = 0
  let lines = 0
  let letters = 0
  let chunk = ''
  const flush = (): void => {
    const buf = Buffer.from(chunk, 'utf8')
    writeSync(fd, buf)
    bytes += buf.length
    chunk = ''
  }
  try {
    let written = 0
    let sentenceStart = true
    while (written < o.words) {
      const n = Math.min(o.words - written, 10 + Math.floor(rnd() * 6)) // 10-15 words a line
      let line = ''
      for (let i = 0; i < n; i++) {
        const rank = pick(zipf, rnd())
        counts[rank]!++
        let word = vocab.words[rank]!
        letters += word.length
        const style = rnd()
        if (style < 0.002) word = word.toUpperCase()
        else if (sentenceStart || vocab.capitalized[rank] === 1) word = capitalize(word)
        if (style > 0.995) word = `"${word}"`
        else if (style > 0.992) word = `(${word})`
        sentenceStart = false
        line += word
        if (i === n - 1) break
        const sep = rnd()
        if (sep < 0.86) line += ' '
        else if (sep < 0.93) line += ', '
        else if (sep < 0.975) {
          line += sep < 0.97 ? '. ' : sep < 0.9725 ? '? ' : '! '
          sentenceStart = true
        } else if (sep < 0.985) line += '; '
        else if (sep < 0.99) line += ': '
        else if (sep < 0.995) line += ' - '
        else line += ' -- '
      }
      const end = rnd()
      if (end < 0.6) {
        line += '.'
        sentenceStart = true
      } else if (end < 0.8) line += ','
      chunk += line + '\n'
      lines++
      written += n
      if (chunk.length >= 1 << 22) flush()
    }
    flush()
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)

  let distinctUsed = 0
  for (const c of counts) if (c > 0) distinctUsed++
  const sorted = Array.from(counts).sort((a, b) => b - a)
  const top10 = sorted.slice(0, 10).reduce((a, b) => a + b, 0)
  return {
    ...o, path, bytes, lines, distinctUsed,
    top10Share: top10 / o.words,
    meanWordLength: letters / o.words,
    version: GENERATOR_VERSION,
  }
}
