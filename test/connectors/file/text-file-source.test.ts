import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { POLL_BYTES, TextFileSource, type FileSplit } from '../../../src/connectors/file/text-file-source.ts'
import { InputStatus, type SourceReader, type SourceReaderContext } from '../../../src/api/source.ts'
import { WeirError } from '../../../src/errors.ts'

const MiB = 1 << 20
const dir = mkdtempSync(join(tmpdir(), 'weir-text-file-test-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let fileNo = 0
function write(content: string | Buffer, name = `file-${fileNo++}.txt`, inDir = dir): string {
  const path = join(inDir, name)
  writeFileSync(path, content)
  return path
}

const ctx: SourceReaderContext = {
  subtaskIndex: 0,
  parallelism: 1,
  attemptNumber: 0,
  sendSplitRequest() {},
  signalAvailable() {},
}

/** The lines of a file, derived independently: split at \n, a final \n ends the last line, \r before \n is dropped. */
function expectedLines(content: Buffer): string[] {
  if (content.length === 0) return []
  const parts: Buffer[] = []
  let start = 0
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 10) {
      parts.push(content.subarray(start, i))
      start = i + 1
    }
  }
  if (start < content.length) parts.push(content.subarray(start))
  return parts.map((p) => (p.length > 0 && p[p.length - 1] === 13 ? p.subarray(0, p.length - 1) : p).toString('utf8'))
}

/** Polls a reader until END_OF_INPUT, collecting records; at most `maxPolls` polls. */
function drain(reader: SourceReader<string, FileSplit>, maxPolls = 100_000): string[] {
  const out: string[] = []
  const output = { collect: (line: string) => void out.push(line) }
  for (let i = 0; i < maxPolls; i++) {
    if (reader.pollNext(output) === InputStatus.END_OF_INPUT) return out
  }
  throw new Error(`reader did not finish within ${maxPolls} polls`)
}

function readSplit(source: TextFileSource, split: FileSplit): string[] {
  const reader = source.createReader(ctx)
  reader.addSplits([{ ...split }])
  reader.notifyNoMoreSplits()
  try {
    return drain(reader)
  } finally {
    reader.close()
  }
}

/** Reads each split with its own reader; returns the lines per split. */
function readEachSplit(path: string, parallelism: number): { splits: FileSplit[]; perSplit: string[][] } {
  const source = new TextFileSource(path)
  const splits = source.computeSplits(parallelism)
  return { splits, perSplit: splits.map((s) => readSplit(source, s)) }
}

/** Reads every split, in order, with one reader. */
function readWithOneReader(path: string, parallelism: number): string[] {
  const source = new TextFileSource(path)
  const reader = source.createReader(ctx)
  reader.addSplits(source.computeSplits(parallelism))
  reader.notifyNoMoreSplits()
  return drain(reader)
}

/** Asserts that the splits' lines, concatenated in split order, are the file's lines: each once, in order. */
function assertReadsExactly(path: string, content: Buffer, parallelism: number, minSplits = 1): void {
  const expected = expectedLines(content)
  const { splits, perSplit } = readEachSplit(path, parallelism)
  assert.ok(splits.length >= minSplits, `expected at least ${minSplits} splits, got ${splits.length}`)
  // The splits tile the file.
  let next = 0
  for (const s of splits) {
    assert.equal(s.start, next)
    next = s.end
  }
  assert.equal(next, content.length)
  const got = perSplit.flat()
  assert.equal(got.length, expected.length, 'number of lines')
  for (let i = 0; i < expected.length; i++) {
    if (got[i] !== expected[i]) assert.fail(`line ${i} differs: got ${JSON.stringify(got[i]!.slice(0, 80))}, expected ${JSON.stringify(expected[i]!.slice(0, 80))}`)
  }
  assert.deepEqual(readWithOneReader(path, parallelism), expected, 'one reader taking all splits reads the same lines')
}

/** Deterministic pseudo-random generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomLines(seed: number, bytes: number, alphabet: string[], eol = '\n', maxLen = 300): string {
  const rand = prng(seed)
  const parts: string[] = []
  let size = 0
  while (size < bytes) {
    const len = Math.floor(rand() * rand() * maxLen) // many short lines, some long, some empty
    let line = ''
    for (let i = 0; i < len; i++) line += alphabet[Math.floor(rand() * alphabet.length)]
    parts.push(line + eol)
    size += Buffer.byteLength(line + eol)
  }
  return parts.join('')
}

const ASCII = [...'abcdefghijklmnopqrstuvwxyz0123456789 ,.;']
const MIXED = [...ASCII, 'é', 'ß', '€', '中', '😀', '𝄞']

test('lines that cross split boundaries are read exactly once, in order (3.5 MiB, several splits)', () => {
  const content = Buffer.from(randomLines(1, 3.5 * MiB, ASCII))
  const path = write(content)
  assertReadsExactly(path, content, 16, 4)
})

test('the number of splits follows the file size and the parallelism', () => {
  const path = write(Buffer.alloc(5 * MiB, 'x\n'))
  const source = new TextFileSource(path)
  assert.equal(source.computeSplits(64).length, 5) // at least 1 MiB per split
  assert.equal(source.computeSplits(1).length, 5) // 16 per reader would be smaller than 1 MiB
  assert.deepEqual(source.computeSplits(1).map((s) => s.offset), [-1, -1, -1, -1, -1])
  // A larger file (sparse: only its size matters here) gets about sixteen splits per reader, so
  // that readers finish within a small split of one another.
  const large = write('')
  truncateSync(large, 40 * MiB)
  const big = new TextFileSource(large)
  assert.equal(big.computeSplits(1).length, 16) // ceil(40 MiB / 16) per split
  assert.equal(big.computeSplits(2).length, 32)
  assert.equal(big.computeSplits(64).length, 40) // at least 1 MiB per split
  const sizes = big.computeSplits(2).map((s) => s.end - s.start)
  assert.ok(sizes.every((b) => b <= Math.ceil(40 * MiB / 32)), `split sizes ${sizes.join(', ')}`)
})

test('CRLF line endings are stripped', () => {
  const content = Buffer.from(randomLines(2, 2.5 * MiB, ASCII, '\r\n'))
  const path = write(content)
  assertReadsExactly(path, content, 16, 3)
  const small = Buffer.from('one\r\ntwo\r\n\r\nthree\r\n')
  assert.deepEqual(readEachSplit(write(small), 1).perSplit.flat(), ['one', 'two', '', 'three'])
})

test('a last line without a newline is read', () => {
  const small = write('alpha\nbeta\ngamma')
  assert.deepEqual(readEachSplit(small, 1).perSplit.flat(), ['alpha', 'beta', 'gamma'])
  const content = Buffer.from(randomLines(3, 2.2 * MiB, ASCII) + 'the very last line')
  assertReadsExactly(write(content), content, 16, 3)
})

test('empty lines are read as empty strings, also at split boundaries', () => {
  assert.deepEqual(readEachSplit(write('\n\na\n\n'), 1).perSplit.flat(), ['', '', 'a', ''])
  // Newlines right before, at and after the 1 MiB and 2 MiB split starts.
  const content = Buffer.alloc(3 * MiB, 'x')
  for (const b of [MiB - 2, MiB - 1, MiB, MiB + 1, 2 * MiB - 1, 2 * MiB, 3 * MiB - 1]) content[b] = 10
  for (let b = 100; b < 3 * MiB; b += 4099) content[b] = 10
  assertReadsExactly(write(content), content, 16, 3)
})

test('an empty file has no lines', () => {
  const path = write('')
  const source = new TextFileSource(path)
  assert.deepEqual(source.computeSplits(4), [])
  assert.deepEqual(readWithOneReader(path, 4), [])
})

for (const [seed, size] of [[4, 3.3], [40, 2.1], [41, 4.7]] as const) {
  test(`multi-byte UTF-8 characters are read intact across split and chunk boundaries (seed ${seed}, ${size} MiB)`, () => {
    const content = Buffer.from(randomLines(seed, size * MiB, MIXED))
    assertReadsExactly(write(content), content, 16, 3)
  })
}

test('a character straddling a split start does not break reading', () => {
  for (const offsetInChar of [1, 2, 3]) {
    // A 4-byte character whose byte `offsetInChar` sits at the 1 MiB split start, in the middle of a line.
    const head = Buffer.alloc(MiB - offsetInChar, 'a')
    head[1000] = 10
    const content = Buffer.concat([head, Buffer.from('😀 tail of the line\nnext line €\n'), Buffer.alloc(MiB, 'b')])
    assertReadsExactly(write(content), content, 16, 2)
  }
  for (const offsetInChar of [1, 2, 3]) {
    // The same, with the character at the start of a line: byte start-1 is then inside it.
    const head = Buffer.alloc(MiB - offsetInChar - 1, 'a')
    const content = Buffer.concat([head, Buffer.from('\n😀 line starting with an emoji\n'), Buffer.alloc(MiB, 'c')])
    assertReadsExactly(write(content), content, 16, 2)
  }
})

test('a single line longer than 1 MiB is read whole', () => {
  const long = '€'.repeat(MiB) // 3 MiB of 3-byte characters
  const content = Buffer.from(`first\n${long}\nlast\n`)
  const path = write(content)
  const { splits, perSplit } = readEachSplit(path, 16)
  assert.ok(splits.length >= 3)
  assert.deepEqual(perSplit.flat(), ['first', long, 'last'])
  assert.deepEqual(readWithOneReader(path, 16), ['first', long, 'last'])
  // A long line with no newline at all.
  const only = 'z'.repeat(2 * MiB + 5)
  assert.deepEqual(readEachSplit(write(only), 16).perSplit.flat(), [only])
})

test('invalid UTF-8 fails with WEIR_INVALID_INPUT naming the file and the byte offset of the line', () => {
  const before = Buffer.from('good line\nanother good one\n')
  const bad = Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x21]) // "bad " + invalid bytes + "!"
  const path = write(Buffer.concat([before, bad, Buffer.from('\nafter\n')]))
  assert.throws(
    () => readEachSplit(path, 1),
    (e: unknown) => e instanceof WeirError && e.code === 'WEIR_INVALID_INPUT' && e.message.includes(path) && e.message.includes(`byte offset ${before.length}`),
  )
})

test('invalid UTF-8 deep in a large file is reported at the right offset', () => {
  const head = Buffer.from(randomLines(5, 1.5 * MiB, ASCII))
  const bad = Buffer.from([0x78, 0xc3, 0x28, 0x0a]) // 0xc3 0x28: a lead byte without its continuation
  const path = write(Buffer.concat([head, bad, Buffer.from('fine\n')]))
  assert.throws(
    () => readEachSplit(path, 16),
    (e: unknown) => e instanceof WeirError && e.code === 'WEIR_INVALID_INPUT' && e.message.includes(path) && e.message.includes(`byte offset ${head.length}`),
  )
})

test('a truncated multi-byte character at the end of the file is invalid input', () => {
  const path = write(Buffer.concat([Buffer.from('ok\nend '), Buffer.from('€').subarray(0, 2)]))
  assert.throws(() => readEachSplit(path, 1), (e: unknown) => e instanceof WeirError && e.code === 'WEIR_INVALID_INPUT' && e.message.includes('byte offset 3'))
})

test('a missing path fails when computing splits, with "not found" and the path', () => {
  const path = join(dir, 'does-not-exist.txt')
  assert.throws(
    () => new TextFileSource(path).computeSplits(2),
    (e: unknown) => e instanceof WeirError && e.code === 'WEIR_INVALID_INPUT' && e.message.includes('not found') && e.message.includes(path),
  )
})

test('a directory input reads all its files except those starting with . or _', () => {
  const input = join(dir, 'input-dir')
  mkdirSync(input)
  write('b1\nb2\n', 'b.txt', input)
  write('a1\na2', 'a.txt', input)
  write('hidden\n', '.hidden', input)
  write('', '_SUCCESS', input)
  write('metadata\n', '_metadata', input)
  mkdirSync(join(input, 'sub'))
  write('s1\n', 'part-0', join(input, 'sub'))
  const source = new TextFileSource(input)
  const files = new Set(source.computeSplits(2).map((s) => s.path))
  assert.deepEqual(files, new Set([join(input, 'a.txt'), join(input, 'b.txt'), join(input, 'sub', 'part-0')]))
  const lines = readWithOneReader(input, 2)
  assert.deepEqual([...lines].sort(), ['a1', 'a2', 'b1', 'b2', 's1'])
})

test('a snapshot taken mid-split lets a fresh reader resume with exactly the remaining lines', () => {
  const content = Buffer.from(randomLines(6, 2.5 * MiB, MIXED, '\n', 120))
  const path = write(content)
  const source = new TextFileSource(path)
  const splits = source.computeSplits(16)
  assert.ok(splits.length >= 2)
  for (const split of splits) {
    const all = readSplit(source, split)
    for (const polls of [0, 1, 3]) {
      const reader: SourceReader<string, FileSplit> = source.createReader(ctx)
      reader.addSplits([{ ...split }])
      reader.notifyNoMoreSplits()
      const prefix: string[] = []
      for (let i = 0; i < polls; i++) {
        const status = reader.pollNext({ collect: (l) => void prefix.push(l) })
        assert.notEqual(status, InputStatus.END_OF_INPUT)
      }
      const snapshot = reader.snapshotState(1)
      reader.close()
      assert.equal(snapshot.length, 1, `split ${split.start}: polls ${polls}`)
      if (polls > 0) assert.ok(prefix.length > 0 && prefix.length < all.length, `split ${split.start}: a partial read (${prefix.length} of ${all.length})`)
      const resumed = source.createReader(ctx)
      resumed.addSplits(snapshot.map((s) => ({ ...s })))
      resumed.notifyNoMoreSplits()
      const rest = drain(resumed)
      resumed.close()
      assert.deepEqual([...prefix, ...rest], all, `split ${split.start}: prefix after ${polls} polls + resumed rest`)
    }
  }
})

test('a snapshot does not change as the reader goes on', () => {
  const content = Buffer.from(randomLines(7, 1.2 * MiB, ASCII))
  const path = write(content)
  const source = new TextFileSource(path)
  const reader: SourceReader<string, FileSplit> = source.createReader(ctx)
  reader.addSplits(source.computeSplits(1).map((s) => ({ ...s })))
  reader.pollNext({ collect() {} })
  const snapshot = reader.snapshotState(1)
  const frozen = JSON.stringify(snapshot)
  reader.pollNext({ collect() {} })
  assert.equal(JSON.stringify(snapshot), frozen)
  reader.close()
})

test('one poll emits a bounded slice of lines (POLL_BYTES and the line that crosses it), so the tasks behind the source run between polls', () => {
  const content = Buffer.from(randomLines(8, 1.5 * MiB, MIXED, '\n', 120))
  const path = write(content)
  const source = new TextFileSource(path)
  const reader: SourceReader<string, FileSplit> = source.createReader(ctx)
  reader.addSplits(source.computeSplits(1).map((s) => ({ ...s })))
  reader.notifyNoMoreSplits()
  const longest = Math.max(...expectedLines(content).map((l) => Buffer.byteLength(l) + 1))
  const all: string[] = []
  let polls = 0
  for (;;) {
    let bytes = 0
    const status = reader.pollNext({ collect: (line) => {
      bytes += Buffer.byteLength(line) + 1
      all.push(line)
    } })
    polls++
    assert.ok(bytes < POLL_BYTES + longest, `poll ${polls} emitted ${bytes} bytes`)
    if (status === InputStatus.END_OF_INPUT) break
  }
  reader.close()
  assert.ok(polls >= content.length / (POLL_BYTES + longest), `${polls} polls for ${content.length} bytes`)
  assert.deepEqual(all, expectedLines(content))
})
