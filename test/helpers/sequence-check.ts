// Checks the committed output of test/fixtures/recovery/sequence-job.ts: lines 'key,seq' in
// the finished files part-<subtask>-<n> of a FileSink directory (hidden in-progress and pending
// files are ignored). Per key the sequence numbers must be exactly 1..N: no gap, no duplicate,
// and increasing in the order a subtask wrote them (its files in numeric n order).

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface CommittedFile {
  readonly name: string
  readonly subtask: number
  readonly part: number
  readonly lines: string[]
}

export interface CommittedOutput {
  /** Finished files, by subtask then part number. */
  readonly files: CommittedFile[]
  /** Every committed line, in that order. */
  readonly lines: string[]
  /** Sequence numbers per key, in that order. */
  readonly perKey: Map<string, number[]>
  /** Per key and subtask, the sequence numbers that subtask wrote, in order. */
  readonly perKeySubtask: Map<string, Map<number, number[]>>
  /** Problems found while reading: unexpected file names, malformed lines. */
  readonly problems: string[]
}

export interface SequenceCheckOptions {
  /** Keys are 'k0'..'k<keys-1>'. */
  readonly keys: number
  /** Sequence numbers per key: 1..n. */
  readonly n: number
  /** 'exactly-once' (default): exactly 1..n, in order. 'at-least-once': none missing, duplicates allowed. */
  readonly mode?: 'exactly-once' | 'at-least-once'
}

export interface SequenceCheckResult {
  readonly ok: boolean
  readonly violations: string[]
  /** A readable summary: counts and the first violations. */
  readonly report: string
  readonly output: CommittedOutput
}

const PART = /^part-(\d+)-(\d+)$/
const LINE = /^(k\d+),(\d+)$/

/** Reads the finished part files of a FileSink directory. */
export function readCommitted(dir: string): CommittedOutput {
  const problems: string[] = []
  const files: CommittedFile[] = []
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('part-')) continue
    const m = PART.exec(name)
    if (!m) {
      problems.push(`unexpected file name ${name}`)
      continue
    }
    const text = readFileSync(join(dir, name), 'utf8')
    if (text.length > 0 && !text.endsWith('\n')) problems.push(`${name} does not end with a newline (torn write?)`)
    files.push({ name, subtask: Number(m[1]), part: Number(m[2]), lines: text.split('\n').filter((l) => l.length > 0) })
  }
  files.sort((a, b) => a.subtask - b.subtask || a.part - b.part)
  const lines: string[] = []
  const perKey = new Map<string, number[]>()
  const perKeySubtask = new Map<string, Map<number, number[]>>()
  for (const f of files) {
    for (const line of f.lines) {
      lines.push(line)
      const m = LINE.exec(line)
      if (!m) {
        problems.push(`${f.name}: malformed line '${line}'`)
        continue
      }
      const key = m[1]!
      const seq = Number(m[2])
      let all = perKey.get(key)
      if (!all) perKey.set(key, (all = []))
      all.push(seq)
      let bySubtask = perKeySubtask.get(key)
      if (!bySubtask) perKeySubtask.set(key, (bySubtask = new Map()))
      let mine = bySubtask.get(f.subtask)
      if (!mine) bySubtask.set(f.subtask, (mine = []))
      mine.push(seq)
    }
  }
  return { files, lines, perKey, perKeySubtask, problems }
}

/** Checks the committed output of a sequence job against keys k0..k<keys-1> with seqs 1..n. */
export function checkSequences(dir: string, options: SequenceCheckOptions): SequenceCheckResult {
  const output = readCommitted(dir)
  const mode = options.mode ?? 'exactly-once'
  const violations = [...output.problems]
  const expectedKeys = new Set(Array.from({ length: options.keys }, (_, i) => `k${i}`))
  for (const key of output.perKey.keys()) if (!expectedKeys.has(key)) violations.push(`unexpected key ${key}`)
  let duplicates = 0
  let missing = 0
  for (const key of expectedKeys) {
    const seqs = output.perKey.get(key) ?? []
    const counts = new Map<number, number>()
    for (const s of seqs) {
      if (s < 1 || s > options.n) violations.push(`key ${key}: seq ${s} outside 1..${options.n}`)
      counts.set(s, (counts.get(s) ?? 0) + 1)
    }
    const gaps: number[] = []
    for (let s = 1; s <= options.n; s++) if (!counts.has(s)) gaps.push(s)
    if (gaps.length > 0) {
      missing += gaps.length
      violations.push(`key ${key}: ${gaps.length} seq(s) missing: ${describeRuns(gaps)}`)
    }
    if (mode === 'at-least-once') continue
    const dups = [...counts].filter(([, c]) => c > 1).map(([s]) => s).sort((a, b) => a - b)
    if (dups.length > 0) {
      duplicates += dups.length
      violations.push(`key ${key}: ${dups.length} seq(s) duplicated: ${describeRuns(dups)}`)
    }
    for (const [subtask, list] of output.perKeySubtask.get(key) ?? []) {
      for (let i = 1; i < list.length; i++) {
        if (list[i]! <= list[i - 1]!) {
          violations.push(`key ${key}: subtask ${subtask} wrote seq ${list[i]} after ${list[i - 1]} (position ${i})`)
          break
        }
      }
    }
  }
  const summary = `${output.files.length} committed file(s), ${output.lines.length} line(s) for ${output.perKey.size} key(s); expected ${options.keys} key(s) x ${options.n} (${mode}); ${missing} missing, ${duplicates} duplicated`
  const shown = violations.slice(0, 20)
  const report = violations.length === 0
    ? `${summary}: OK`
    : `${summary}: ${violations.length} violation(s)\n  ${shown.join('\n  ')}${violations.length > shown.length ? `\n  ... and ${violations.length - shown.length} more` : ''}`
  return { ok: violations.length === 0, violations, report, output }
}

/** 1,2,3,7,9,10 -> '1-3, 7, 9-10' (at most 10 runs). */
function describeRuns(sorted: number[]): string {
  const runs: string[] = []
  let start = sorted[0]!
  let prev = start
  for (let i = 1; i <= sorted.length; i++) {
    const s = sorted[i]
    if (s === prev + 1) {
      prev = s
      continue
    }
    runs.push(start === prev ? String(start) : `${start}-${prev}`)
    if (s !== undefined) start = prev = s
  }
  return runs.length > 10 ? `${runs.slice(0, 10).join(', ')}, ... (${runs.length} runs)` : runs.join(', ')
}
