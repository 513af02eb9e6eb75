// The Nexmark benchmark: each query of bench/nexmark/ on NexmarkSource events, at each
// parallelism, with checkpoints off and with exactly-once checkpoints every 1 s on the heap
// and on the LMDB backend. Each run is a child process of its own (bench/child.ts, built to
// plain JavaScript, on the built runtime in dist/), so its peak RSS is its own. Events/s is
// events / the job's duration (deploy to finish, so a fixed start-up cost of about a second is
// included: use enough events). Per core = events/s / parallelism, as Flink's figures are.
//
//   npm run bench:nexmark                                   # every query, -p 1,2, 2M events
//   npm run bench:nexmark -- --events 500000 --queries q0,q5 -p 1,2 --modes none,eo-heap
//
// Modes: none (no checkpoints), eo-heap, eo-heap-inc (the heap backend with incremental
// checkpoints, as Nexmark's Flink runner checkpoints), eo-lmdb (incremental); exactly-once every
// 1 s, filesystem storage under bench/.data. Queries: q0 q1 q2 q3 q4 q5 q5t (q5 with tumbling windows) q7 q8 q11 q12.
// Also reports q5 (sliding) against q5t (tumbling) and -p 2 against -p 1. Writes
// bench/results/nexmark.json (--out FILE for another). Exits 1 when a run fails.
// --cpu-prof DIR: each child runs under node --cpu-prof, so the child and each of its slot
// threads write a .cpuprofile to DIR/<query>-p<p>-<mode>/ (summarise one with
// bench/profile-summary.ts; the worker's file is the one with the most samples).
// -D key=value: a configuration option for every run (e.g. -D pipeline.window.local-aggregation=false).
// --repeat N: every configuration N times, interleaved (-p 1, -p 2, -p 1, ...); the ratios use
// each configuration's best round, as the machine may be shared.
// Each row also has the run's CPU seconds (all threads; per million events; the main thread's;
// the busiest other threads', i.e. the slot threads) and the 1-minute load average around it:
// "CPU efficiency -p 1 / -p 2" is CPU per event at -p 1 over CPU per event at -p 2, which does
// not depend on how much of the machine the run got (on an idle 2-core machine, -p 2 / -p 1
// throughput is about 2x the efficiency, up to the two threads' ceiling). "on N cores" is CPU over
// wall time: with Linux's autogroup scheduling (kernel.sched_autogroup_enabled=1) each busy session
// gets an equal share of the CPU however many threads it runs, so while other sessions keep the
// cores busy -p 2 gets about as many cores as -p 1, and its throughput ratio says nothing.

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildSync } from 'esbuild'
import { RESULT_PREFIX, type ChildResult, type WeirParams } from './protocol.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH = join(ROOT, 'bench')
const DATA_DIR = join(BENCH, '.data')
const RESULTS_DIR = join(BENCH, 'results')
const DIST_INDEX = join(ROOT, 'dist', 'index.js')
const DIST_BUNDLE = join(ROOT, 'dist', 'cli', 'bundle.js')

const QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q5t', 'q7', 'q8', 'q11', 'q12'] as const
const MODES = ['none', 'eo-heap', 'eo-heap-inc', 'eo-lmdb'] as const
type Mode = (typeof MODES)[number]

/** Flink 2.0's published per-core figures (NEXMARK.md; ForSt, exactly-once every 30 s). */
const FLINK_2_PER_CORE: Record<string, number> = { q0: 378e3, q1: 396e3, q2: 414e3, q3: 219e3, q4: 28.2e3, q5: 74.5e3, q7: 22.9e3, q8: 162e3, q11: 46.1e3, q12: 194e3 }

interface Options {
  events: number
  queries: string[]
  parallelisms: number[]
  modes: Mode[]
  out: string
  cpuProf: string | null
  repeat: number
  /** -D key=value: configuration for every run (e.g. -D pipeline.window.local-aggregation=false). */
  config: Record<string, string>
}

function parseArgs(argv: string[]): Options {
  const o: Options = { events: 2_000_000, queries: [...QUERIES], parallelisms: [1, 2], modes: [...MODES], out: join(RESULTS_DIR, 'nexmark.json'), cpuProf: null, repeat: 1, config: {} }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const next = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--events') o.events = Number(next())
    else if (a === '--queries') o.queries = next().split(',')
    else if (a === '-p' || a === '--parallelism') o.parallelisms = next().split(',').map(Number)
    else if (a === '--modes') o.modes = next().split(',') as Mode[]
    else if (a === '--out') o.out = next()
    else if (a === '--cpu-prof') o.cpuProf = next()
    else if (a === '--repeat') o.repeat = Number(next())
    else if (a === '-D') {
      const kv = next()
      const eq = kv.indexOf('=')
      if (eq <= 0) throw new Error(`-D: expected key=value, got ${kv}`)
      o.config[kv.slice(0, eq)] = kv.slice(eq + 1)
    }
    else throw new Error(`unknown option ${a}`)
  }
  if (!Number.isInteger(o.repeat) || o.repeat < 1) throw new Error(`--repeat: expected a positive integer, got ${o.repeat}`)
  for (const q of o.queries) if (!(QUERIES as readonly string[]).includes(q)) throw new Error(`unknown query ${q}; known: ${QUERIES.join(', ')}`)
  for (const m of o.modes) if (!(MODES as readonly string[]).includes(m)) throw new Error(`unknown mode ${m}; known: ${MODES.join(', ')}`)
  return o
}

interface Row {
  query: string
  /** Which of the --repeat rounds (0-based). */
  round: number
  parallelism: number
  mode: Mode
  events: number
  seconds: number
  eventsPerSecond: number
  perCore: number
  maxRssMiB: number
  /** CPU seconds of the run's process, all threads (start-up included). */
  cpuSeconds: number
  /** cpuSeconds per million events. */
  cpuSecondsPerMillion: number
  /** The main thread's share (JobManager, deployment, start-up). */
  mainThreadCpuSeconds: number
  /**
   * CPU seconds over the run's wall seconds: how many cores the run got. With the kernel's
   * autogroup scheduling (kernel.sched_autogroup_enabled=1) a process shares the CPU with other
   * busy sessions as one group, so on a loaded machine -p 2 gets about the cores -p 1 got.
   */
  cores: number
  /** The busiest other threads (the slot threads first), CPU seconds each. */
  busiestThreadsCpuSeconds: number[]
  /** The machine's 1-minute load average before and after the run (the machine is shared). */
  load: [before: number, after: number]
  checkpoints?: { completed: number; failed: number }
  error?: string
}

function runChild(child: string, params: WeirParams, profileDir: string | null): Promise<ChildResult> {
  return new Promise((resolve) => {
    const prof = profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]
    const proc = spawn(process.execPath, [...prof, child, 'weir', JSON.stringify(params)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
    let out = ''
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', (d: string) => (out += d))
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      if (line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult)
      else resolve({ ok: false, error: `no result (exit code ${code}): ${out.slice(-1000)}`, words: 0, lines: 0, seconds: 0, maxRssKiB: 0, cpuSeconds: 0, extra: {} })
    })
  })
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  for (const f of [DIST_INDEX, DIST_BUNDLE]) if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build first`)
  mkdirSync(DATA_DIR, { recursive: true })
  mkdirSync(RESULTS_DIR, { recursive: true })
  const work = mkdtempSync(join(DATA_DIR, 'nexmark-'))
  const child = join(work, 'child.mjs')
  buildSync({ entryPoints: [join(BENCH, 'child.ts')], outfile: child, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' })
  const { bundleJob } = (await import(pathToFileURL(DIST_BUNDLE).href)) as typeof import('../src/cli/bundle.ts')
  const rows: Row[] = []
  let failed = false
  try {
    for (const q of options.queries) {
      const file = q === 'q5t' ? 'q5' : q
      const artifact = await bundleJob(join(BENCH, 'nexmark', `${file}.ts`))
      try {
        for (let round = 0; round < options.repeat; round++) for (const p of options.parallelisms) {
          for (const mode of options.modes) {
            const ckptDir = join(work, `ckpt-${q}-${p}-${mode}`)
            const config: Record<string, string | number> = { ...options.config }
            if (mode !== 'none') {
              config['execution.checkpointing.interval'] = '1s'
              config['execution.checkpointing.mode'] = 'EXACTLY_ONCE'
              config['state.checkpoints.dir'] = ckptDir
              config['state.backend.type'] = mode === 'eo-lmdb' ? 'lmdb' : 'hashmap'
              if (mode === 'eo-lmdb' || mode === 'eo-heap-inc') config['state.backend.incremental'] = 'true'
            }
            const args = ['--events', String(options.events), ...(q === 'q5t' ? ['--tumbling', 'true'] : [])]
            const profileDir = options.cpuProf === null ? null : join(options.cpuProf, `${q}-p${p}-${mode}${options.repeat > 1 ? `-r${round}` : ''}`)
            if (profileDir !== null) mkdirSync(profileDir, { recursive: true })
            const loadBefore = loadavg()[0]!
            const r = await runChild(child, { corpus: '', parallelism: p, artifactUrl: artifact.url, runtimeUrl: pathToFileURL(DIST_INDEX).href, args, config } as WeirParams, profileDir)
            rmSync(ckptDir, { recursive: true, force: true })
            const jobSeconds = ((r.extra as { jobDurationMs?: number }).jobDurationMs ?? r.seconds * 1000) / 1000
            const eps = r.ok ? options.events / jobSeconds : 0
            const row: Row = {
              query: q, round, parallelism: p, mode, events: options.events, seconds: Number(jobSeconds.toFixed(3)),
              eventsPerSecond: Math.round(eps), perCore: Math.round(eps / p), maxRssMiB: Math.round(r.maxRssKiB / 1024),
              cpuSeconds: round3(r.cpuSeconds), cpuSecondsPerMillion: round3((r.cpuSeconds / options.events) * 1e6),
              cores: r.seconds > 0 ? round3(r.cpuSeconds / r.seconds) : 0,
              mainThreadCpuSeconds: round3(r.threads?.find((t) => t.tid === r.pid)?.cpuSeconds ?? 0),
              busiestThreadsCpuSeconds: (r.threads ?? []).filter((t) => t.tid !== r.pid).slice(0, Math.max(p, 2) + 1).map((t) => round3(t.cpuSeconds)),
              load: [round3(loadBefore), round3(loadavg()[0]!)],
              ...(r.checkpointing ? { checkpoints: { completed: r.checkpointing.counts.completed, failed: r.checkpointing.counts.failed } } : {}),
              ...(r.ok ? {} : { error: r.error }),
            }
            if (!r.ok) failed = true
            rows.push(row)
            const flink = FLINK_2_PER_CORE[q]
            console.log(`${q.padEnd(4)} -p ${p} ${mode.padEnd(8)} ${r.ok ? `${(eps / 1000).toFixed(1).padStart(8)} K events/s  ${(eps / p / 1000).toFixed(1).padStart(7)} K/core${flink ? ` (Flink 2.0: ${(flink / 1000).toFixed(1)} K/core, ${((eps / p / flink) * 100).toFixed(0)}%)` : ''}  ${row.maxRssMiB} MiB peak  CPU ${row.cpuSeconds.toFixed(2)} s on ${row.cores.toFixed(2)} cores (${row.cpuSecondsPerMillion.toFixed(2)} s/M events; main ${row.mainThreadCpuSeconds.toFixed(2)}, threads ${row.busiestThreadsCpuSeconds.map((c) => c.toFixed(2)).join(' ')})  load ${row.load.map((l) => l.toFixed(1)).join('->')}${row.checkpoints ? `  ${row.checkpoints.completed} checkpoints` : ''}` : `FAILED: ${r.error}`}`)
          }
        }
      } finally {
        artifact.dispose()
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  // With --repeat, a configuration's best round: on a shared machine the others lost time to other work.
  const find = (q: string, p: number, m: Mode): Row | undefined => {
    const runs = rows.filter((r) => r.query === q && r.parallelism === p && r.mode === m && !r.error)
    if (runs.length === 0) return undefined
    const best = runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a))
    return { ...best, cpuSecondsPerMillion: Math.min(...runs.map((r) => r.cpuSecondsPerMillion)) }
  }
  const ratios: Record<string, number> = {}
  for (const m of options.modes) {
    for (const p of options.parallelisms) {
      const s = find('q5', p, m)
      const t = find('q5t', p, m)
      if (s && t) ratios[`q5 sliding / tumbling time, -p ${p}, ${m}`] = Number((t.eventsPerSecond / s.eventsPerSecond).toFixed(2))
    }
    for (const q of ['q1', 'q5']) {
      const one = find(q, 1, m)
      const two = find(q, 2, m)
      if (one && two) {
        ratios[`${q} -p 2 / -p 1 throughput, ${m}`] = Number((two.eventsPerSecond / one.eventsPerSecond).toFixed(2))
        // On an idle 2-core machine -p 2 / -p 1 is about 2 x this, up to the two threads' ceiling.
        ratios[`${q} CPU efficiency -p 1 / -p 2 (CPU s per event), ${m}`] = Number((one.cpuSecondsPerMillion / two.cpuSecondsPerMillion).toFixed(2))
      }
    }
  }
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v}`)
  const out = options.out
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), options, flink2PerCore: FLINK_2_PER_CORE, rows, ratios }, null, 2) + '\n')
  console.log(`results: ${out}`)
  if (failed) process.exitCode = 1
}

await main()
