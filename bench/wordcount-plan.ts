// What the word count benchmark (wordcount.ts) runs: its configurations and their runs (one child
// process each), the options on its command line, the paths it uses and the targets it checks.

import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CorpusInfo } from './corpus.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BENCH = join(ROOT, 'bench')
export const DATA_DIR = join(BENCH, '.data')
export const RESULTS_DIR = join(BENCH, 'results')
export const PROFILE_DIR = join(RESULTS_DIR, 'profiles')
export const DIST_INDEX = join(ROOT, 'dist', 'index.js')
export const DIST_BUNDLE = join(ROOT, 'dist', 'cli', 'bundle.js')
export const JOBS = {
  wordcount: join(BENCH, 'jobs', 'wordcount-discard.ts'),
  failOnce: join(BENCH, 'jobs', 'wordcount-fail-once.ts'),
  backpressure: join(BENCH, 'jobs', 'backpressure.ts'),
} as const
export type JobName = keyof typeof JOBS

export const CONFIGS = ['baseline', 'ceiling', 'rxjs', 'streams', 'p1', 'p1-ckpt', 'p2', 'p2-ckpt', 'recovery', 'backpressure'] as const
/** The counts done without Weir, each a mode of bench/child.ts. */
export const PLAIN_MODES = ['baseline', 'ceiling', 'rxjs', 'streams'] as const
export type PlainMode = (typeof PLAIN_MODES)[number]
/** Configurations that count every word of the corpus (checked against it). */
export const COUNTING = ['baseline', 'ceiling', 'rxjs', 'streams', 'p1', 'p1-ckpt', 'p2', 'p2-ckpt']
export type ConfigName = (typeof CONFIGS)[number]

/** Checkpoint interval of p2-ckpt, recovery and backpressure. */
export const CHECKPOINT_INTERVAL_MS = 1000
/** Back-pressure job: the keys of its stateful map (its sink's cost per record is --bp-sink-us). */
export const BP_KEYS = 10_000
/** null: the default taskmanager.network.credits-per-channel (4). */
const BP_CREDITS: readonly (number | null)[] = [null, 64]
const BP_MODES: ReadonlyArray<{ readonly name: string; readonly unaligned: boolean; readonly config: Record<string, string> }> = [
  { name: 'aligned', unaligned: false, config: {} },
  { name: 'unaligned', unaligned: true, config: { 'execution.checkpointing.unaligned.enabled': 'true' } },
  { name: 'unaligned, 50 ms timeout', unaligned: true, config: { 'execution.checkpointing.unaligned.enabled': 'true', 'execution.checkpointing.aligned-checkpoint-timeout': '50ms' } },
]

export const TARGETS = { p1VsBaseline: 0.7, p1CkptVsBaseline: 0.65, p2VsP1: 1.6, peakRssMB: 300, checkpointOverheadPct: 5, checkpointP99Ms: 1000, recoveryMs: 2000 }

export interface Options {
  words: number
  only: ConfigName[]
  cpuProf: boolean
  repeat: number
  bpSeconds: number
  bpSinkUs: number
  config: Record<string, string>
}

/** One child process to run: a configuration, or one variant of it. */
export interface RunSpec {
  readonly config: ConfigName
  /** The configuration, or configuration/variant: the key of the run in tables and in the JSON. */
  readonly label: string
  /** null: the hand-written baseline. */
  readonly job: JobName | null
  readonly parallelism: number
  /** Configuration keys of this run (on top of -D). */
  readonly weirConfig: Record<string, string>
  /** Filesystem checkpoint storage in a fresh bench/.data/ckpt-* directory, removed afterwards. */
  readonly checkpointDir: boolean
  /** A fresh bench/.data/marks-* directory for the job's own timings (recovery), removed afterwards. */
  readonly marksDir: boolean
  readonly args?: (dirs: { marks: string | null }) => string[]
  readonly cancelAfterMs?: number
  readonly watchRecovery?: boolean
  readonly variant?: { readonly mode: string; readonly unaligned: boolean; readonly credits: number | null; readonly sinkUs: number; readonly seconds: number }
}

export function parseOptions(argv: string[]): Options {
  const options: Options = { words: 20_000_000, only: [...CONFIGS], cpuProf: false, repeat: 1, bpSeconds: 15, bpSinkUs: 10, config: {} }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const flag = eq < 0 ? arg : arg.slice(0, eq)
    const inline = eq < 0 ? undefined : arg.slice(eq + 1)
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined) usage(`${flag} needs a value`)
      return v
    }
    /** The flag's value as a number of at least `min` (an integer with `integer`; `_` separates thousands). */
    const number = (min: number, integer: boolean): number => {
      const n = Number(value().replaceAll('_', ''))
      if (!(integer ? Number.isSafeInteger(n) : Number.isFinite(n)) || n < min) usage(`${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}`)
      return n
    }
    switch (flag) {
      case '--words':
        options.words = number(1, true)
        break
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s.length > 0)
        for (const n of names) if (!(CONFIGS as readonly string[]).includes(n)) usage(`--only: unknown configuration '${n}' (known: ${CONFIGS.join(', ')})`)
        options.only = CONFIGS.filter((c) => names.includes(c))
        break
      }
      case '--repeat':
        options.repeat = number(1, true)
        break
      case '--bp-seconds':
        options.bpSeconds = number(1, false)
        break
      case '--bp-sink-us':
        options.bpSinkUs = number(0, false)
        break
      case '--cpu-prof':
        options.cpuProf = true
        break
      case '-D': {
        const v = value()
        const eq = v.indexOf('=')
        if (eq <= 0) usage(`-D expects key=value, got '${v}'`)
        options.config[v.slice(0, eq).trim()] = v.slice(eq + 1).trim()
        break
      }
      case '--help':
      case '-h':
        usage()
        break
      default:
        usage(`unknown option ${flag}`)
    }
  }
  return options
}

function usage(error?: string): never {
  if (error) console.error(`error: ${error}\n`)
  console.error(`usage: npm run bench -- [--words N] [--only ${CONFIGS.join(',')}] [--cpu-prof] [--repeat N] [--bp-seconds S] [--bp-sink-us U] [-D key=value ...]`)
  process.exit(error ? 2 : 0)
}

/** The runs of one configuration. */
export function specsFor(config: ConfigName, options: Options, corpus: CorpusInfo): RunSpec[] {
  const checkpoints = { 'execution.checkpointing.interval': `${CHECKPOINT_INTERVAL_MS}ms`, 'execution.checkpointing.storage': 'filesystem' }
  const plain = { weirConfig: {}, checkpointDir: false, marksDir: false }
  switch (config) {
    case 'baseline':
    case 'ceiling':
    case 'rxjs':
    case 'streams':
      return [{ config, label: config, job: null, parallelism: 0, ...plain }]
    case 'p1':
    case 'p2':
      return [{ config, label: config, job: 'wordcount', parallelism: config === 'p1' ? 1 : 2, ...plain }]
    case 'p1-ckpt':
      return [{ config, label: config, job: 'wordcount', parallelism: 1, weirConfig: checkpoints, checkpointDir: true, marksDir: false }]
    case 'p2-ckpt':
      return [{ config, label: config, job: 'wordcount', parallelism: 2, weirConfig: checkpoints, checkpointDir: true, marksDir: false }]
    case 'recovery': {
      // The first tokenizer subtask to read a quarter of the lines fails (at about half the input:
      // the two readers take the file's splits as they go), once a checkpoint completed; at 45%
      // of the lines it fails anyway, so that a short run still fails (then restarting from the start).
      const quarter = Math.max(1, Math.round(corpus.lines / 4))
      return [{
        config, label: config, job: 'failOnce', parallelism: 2, checkpointDir: true, marksDir: true, watchRecovery: true,
        weirConfig: { ...checkpoints, 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.delay': '0', 'restart-strategy.fixed-delay.attempts': '1' },
        args: ({ marks }) => ['--input', corpus.path, '--marks', marks!, '--fail-after', String(quarter), '--fail-by', String(Math.round(quarter * 1.8)), '--fail-subtask', '-1', '--min-checkpoints', '1'],
      }]
    }
    case 'backpressure':
      return BP_CREDITS.flatMap((credits) => BP_MODES.map((mode): RunSpec => ({
        config, label: `backpressure/${mode.name}/credits ${credits ?? 'default'}`, job: 'backpressure', parallelism: 2,
        weirConfig: { ...checkpoints, ...mode.config, ...(credits === null ? {} : { 'taskmanager.network.credits-per-channel': String(credits) }) },
        checkpointDir: true, marksDir: false, cancelAfterMs: options.bpSeconds * 1000,
        args: () => ['--sink-us', String(options.bpSinkUs), '--keys', String(BP_KEYS)],
        variant: { mode: mode.name, unaligned: mode.unaligned, credits, sinkUs: options.bpSinkUs, seconds: options.bpSeconds },
      })))
  }
}
