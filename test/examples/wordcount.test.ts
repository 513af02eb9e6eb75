// The word count example (examples/wordcount.ts) end to end: on a generated text whose word
// counts the test knows from generating it, at parallelism 1, 2 and 4; and reading a socket.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { startJob } from '../runtime/live-job.ts'
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/deadlines.ts'

/** A hung job fails its test instead of blocking the run. */
const T = { timeout: TEST_TIMEOUT_MS }
const job = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url))

/** Each word as the count must report it (lower case), with the spellings the text uses for it. */
const VOCABULARY: Array<[string, string[]]> = [
  ['the', ['the', 'The', 'THE']],
  ['stream', ['stream', 'Stream', 'STREAM']],
  ['weir', ['weir', 'Weir']],
  ['straße', ['Straße', 'straße', 'STRAẞE']],
  ['café', ['café', 'Café', 'CAFÉ']],
  ['über', ['über', 'Über', 'ÜBER']],
  ['naïve', ['naïve', 'NAÏVE']],
  ['ørsted', ['Ørsted', 'ØRSTED']],
  ['москва', ['Москва', 'МОСКВА', 'москва']],
  ['λόγος', ['λόγος', 'Λόγος', 'ΛΌΓΟΣ']],
  ['東京', ['東京']],
  ['x86', ['x86', 'X86']],
  ['2024', ['2024']],
  ['a', ['a', 'A']],
  ['flink', ['Flink', 'flink', 'FLINK']],
  ['key', ['key', 'Key']],
  ['window', ['window', 'Window', 'WINDOW']],
  ['état', ['état', 'État', 'ÉTAT']],
  ['zürich', ['Zürich', 'zürich']],
  ['fjord', ['fjord']],
]

/** Anything that is neither a letter nor a digit separates words. */
const SEPARATORS = [' ', '  ', ', ', '. ', '! ', '? ', '; ', ': ', ' - ', ' — ', ' (', ') ', ' "', '" ', " '", "' ", '\t', '…', ' «', '» ', '/', '_', '*']

/** A small deterministic PRNG (mulberry32), so the text is the same on every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function generateText(lines: number): { text: string; counts: Map<string, number>; words: number } {
  const rnd = random(20240611)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const counts = new Map<string, number>()
  let words = 0
  const out: string[] = []
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(rnd() * 11) // 0..10 words; some lines are empty
    let line = rnd() < 0.2 ? pick(SEPARATORS) : ''
    for (let w = 0; w < n; w++) {
      // Skewed: early words of the vocabulary are much more frequent.
      const [word, spellings] = VOCABULARY[Math.floor(VOCABULARY.length * rnd() * rnd())]!
      if (w > 0) line += pick(SEPARATORS)
      line += pick(spellings)
      counts.set(word, (counts.get(word) ?? 0) + 1)
      words++
    }
    if (rnd() < 0.3) line += pick(SEPARATORS)
    out.push(line + (rnd() < 0.05 ? '\r\n' : '\n'))
  }
  return { text: out.join(''), counts, words }
}

interface Emitted {
  subtask: number
  word: string
  count: number
}

function parse(lines: string[]): Emitted[] {
  return lines.map((line) => {
    const m = /^(?:(\d+)> )?\(([^,]+),(\d+)\)$/.exec(line)
    assert.ok(m, `not a (word,count) line: ${JSON.stringify(line)}`)
    return { subtask: m[1] === undefined ? 0 : Number(m[1]), word: m[2]!, count: Number(m[3]) }
  })
}

let dir = ''
let input = ''
let generated: ReturnType<typeof generateText>

before(() => {
  for (const [word, spellings] of VOCABULARY) {
    for (const s of spellings) assert.equal(s.toLowerCase(), word, `test vocabulary: ${s} must lower-case to ${word}`)
  }
  generated = generateText(3000)
  dir = mkdtempSync(join(tmpdir(), 'weir-wordcount-'))
  input = join(dir, 'input.txt')
  writeFileSync(input, generated.text)
})

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

for (const p of [1, 2, 4]) {
  test(`the word count at parallelism ${p} gives the known count of every word, counting up by one`, T, async () => {
    const { result, lines } = await runJob(job, { args: ['--input', input], config: { 'parallelism.default': p } })
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.equal(result.recordsIn, 3000, 'one record per line')
    const emitted = parse(lines)
    assert.equal(emitted.length, generated.words, 'sum() emits one updated count per word read')

    const last = new Map<string, number>()
    const subtaskOf = new Map<string, number>()
    for (const { subtask, word, count } of emitted) {
      assert.equal(count, (last.get(word) ?? 0) + 1, `count of '${word}' must go up by one, got ${count} after ${last.get(word) ?? 0}`)
      last.set(word, count)
      if (p === 1) {
        assert.equal(subtask, 0, 'no subtask prefix at parallelism 1')
      } else {
        assert.ok(subtask >= 1 && subtask <= p, `prefix ${subtask}> outside 1..${p}`)
        assert.equal(subtaskOf.get(word) ?? subtask, subtask, `'${word}' came from subtasks ${subtaskOf.get(word)} and ${subtask}`)
        subtaskOf.set(word, subtask)
      }
    }
    assert.deepEqual(new Map([...last].sort()), new Map([...generated.counts].sort()))
  })
}

/** `promise`, or a rejection naming what did not happen within `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

test('the word count reads a socket, counts as lines arrive, and finishes when the socket closes', T, async () => {
  const server = createServer()
  const connected = new Promise<Socket>((resolve) => server.once('connection', resolve))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  let socket: Socket | null = null
  let live: Awaited<ReturnType<typeof startJob>> | null = null
  try {
    live = await startJob(job, { args: ['--host', '127.0.0.1', '--port', String(port)], config: { 'parallelism.default': 2 } })
    const running = live
    socket = await within(WAIT_MS, 'the job to connect to the server', Promise.race([
      connected,
      running.result.then((r): never => {
        throw new Error(`the job ended (${r.status}: ${r.error?.message ?? ''}) before it connected`)
      }),
    ]))
    const words = (lines: string[]) => lines.map((l) => l.replace(/^\d+> /, ''))

    socket.write('hello world\n')
    await live.waitFor((ls) => words(ls).includes('(hello,1)') && words(ls).includes('(world,1)'), WAIT_MS, '(hello,1) and (world,1)')
    socket.write('hello world\n')
    const lines = await live.waitFor((ls) => words(ls).includes('(hello,2)') && words(ls).includes('(world,2)'), WAIT_MS, '(hello,2) and (world,2)')
    assert.deepEqual(words(lines).sort(), ['(hello,1)', '(hello,2)', '(world,1)', '(world,2)'])

    socket.end()
    const result = await within(WAIT_MS, 'the job to finish after the socket closed', live.result)
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.equal(result.recordsIn, 2)
    assert.equal(result.recordsOut, 4)
  } finally {
    socket?.destroy()
    if (live) await live.stop()
    await new Promise((resolve) => server.close(resolve))
  }
})
