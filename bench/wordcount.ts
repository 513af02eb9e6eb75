// The word count benchmark: Weir's word count (bench/jobs/wordcount-discard.ts) at parallelism 1
// and 2 against a hand-written single-threaded loop doing the same counting, on a generated
// Zipf-distributed corpus. Each configuration runs in a child process of its own, in order
// baseline, p1, p2, so that its peak RSS is its own; the runtime is the built one in dist/.
//
//   npm run bench                                  # 20M words (after npm run build)
//   npm run bench -- --words 2000000               # a quick run
//   npm run bench -- --only p1 --cpu-prof          # profile p1 (main thread and every worker)
//   node --import tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile
//
// Options: --words N (default 20_000_000); --only baseline,p1,p2; --cpu-prof; --repeat N (run
// the configurations N rounds and report each one's fastest run: the machine is shared, so the
// minimum is the figure least disturbed by other work); -D key=value (repeatable) to configure
// the weir runs, e.g. -D taskmanager.network.batch-records=4096.
// Writes bench/results/wordcount.json. Exits 1 when a run fails or the counts disagree.

import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildSync } from 'esbuild'
import { DEFAULT_CORPUS, ensureCorpus, type CorpusInfo } from './corpus.ts'
import { RESULT_PREFIX, type BaselineParams, type ChildResult, type WeirParams } from './protocol.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BENCH = join(ROOT, 'bench')
const DATA_DIR = join(BENCH, '.data')
const RESULTS_DIR = join(BENCH, 'results')
const PROFILE_DIR = join(RESULTS_DIR, 'profiles')
const DIST_INDEX = join(ROOT, 'dist', 'index.js')
const DIST_BUNDLE = join(ROOT, 'dist', 'cli', 'bundle.js')
const JOB = join(BENCH, 'jobs', 'wordcount-discard.ts')

const CONFIGS = ['baseline', 'p1', 'p2'] as const
type ConfigName = (typeof CONFIGS)[number]

const TARGETS = { p1VsBaseline: 1 / 3, p2VsP1: 1.6, peakRssMB: 300 }

interface Options {
  words: number
  only: ConfigName[]
  cpuProf: boolean
  repeat: number
  config: Record<string, string>
}

interface Run extends ChildResult {
  readonly config: ConfigName
  readonly round: number
  readonly wordsPerSecond: number
  readonly peakRssMB: number
  readonly profiles: string[]
  /** CPU time of everything else on the machine while this configuration ran, in cores (Linux only). */
  readonly otherCores: number | null
}

function parseOptions(argv: string[]): Options {
  const options: Options = { words: 20_000_000, only: [...CONFIGS], cpuProf: false, repeat: 1, config: {} }
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
    switch (flag) {
      case '--words': {
        const n = Number(value().replaceAll('_', ''))
        if (!Number.isSafeInteger(n) || n < 1) usage('--words must be a positive integer')
        options.words = n
        break
      }
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s.length > 0)
        for (const n of names) if (!(CONFIGS as readonly string[]).includes(n)) usage(`--only: unknown configuration '${n}' (known: ${CONFIGS.join(', ')})`)
        options.only = CONFIGS.filter((c) => names.includes(c))
        break
      }
      case '--repeat': {
        const n = Number(value())
        if (!Number.isSafeInteger(n) || n < 1) usage('--repeat must be a positive integer')
        options.repeat = n
        break
      }
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
  console.error('usage: npm run bench -- [--words N] [--only baseline,p1,p2] [--cpu-prof] [--repeat N] [-D key=value ...]')
  process.exit(error ? 2 : 0)
}

/** Reads the corpus once so that the first configuration does not pay for the disk. */
function warmPageCache(path: string): void {
  const buf = Buffer.allocUnsafe(8 << 20)
  const fd = openSync(path, 'r')
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {
      // just reading
    }
  } finally {
    closeSync(fd)
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal ...; USER_HZ is 100 on Linux
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
    return (user + nice + system + irq + softirq + steal) / 100
  } catch {
    return null
  }
}

/** bench/child.ts as plain JavaScript, so the children and their workers run without tsx. */
function buildChild(): string {
  const outfile = join(DATA_DIR, 'child.mjs')
  buildSync({ entryPoints: [join(BENCH, 'child.ts')], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' })
  return outfile
}

function runChild(child: string, config: ConfigName, mode: 'baseline' | 'weir', params: BaselineParams | WeirParams, cpuProfDir: string | null): Promise<ChildResult> {
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : []
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...nodeArgs, child, mode, JSON.stringify(params)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
    let out = ''
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', (d: string) => (out += d))
    proc.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      if (line) {
        const result = JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult
        resolve(code === 0 || !result.ok ? result : { ...result, ok: false, error: `${config} exited with code ${code}` })
      } else {
        resolve({ ok: false, error: `${config}: no result (exit code ${code}, signal ${signal}); output: ${out.slice(-2000)}`, words: 0, lines: 0, seconds: 0, maxRssKiB: 0, cpuSeconds: 0, extra: {} })
      }
    })
  })
}

/** Moves the profiles a run wrote to names that say which configuration and thread they are. */
function collectProfiles(dir: string, label: string): string[] {
  const names: string[] = []
  for (const f of readdirSync(dir).sort()) {
    // Node names them CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile; thread 0 is the main thread.
    const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(f)
    if (!m) continue
    const thread = m[1] === '0' ? 'main' : `thread${m[1]}`
    const target = join(dir, `${label}-${thread}.cpuprofile`)
    renameSync(join(dir, f), target)
    names.push(target)
  }
  return names
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r, ri) => {
    const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
    return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line
  }).join('\n')
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  for (const f of [DIST_INDEX, DIST_BUNDLE]) {
    if (!existsSync(f)) {
      console.error(`error: ${relative(ROOT, f)} is missing: run npm run build first (npm run bench does)`)
      process.exit(1)
    }
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')

  const corpus: CorpusInfo = ensureCorpus(DATA_DIR, { ...DEFAULT_CORPUS, words: options.words }, (m) => console.log(m))
  console.log(`corpus: ${relative(ROOT, corpus.path)}: ${fmtInt(corpus.words)} words, ${fmtInt(corpus.lines)} lines, ${(corpus.bytes / 2 ** 20).toFixed(1)} MiB, ` +
    `${fmtInt(corpus.distinctUsed)} of ${fmtInt(corpus.vocabulary)} words used, Zipf s=${corpus.exponent}, top 10 words ${(corpus.top10Share * 100).toFixed(1)}% of text, ` +
    `mean word length ${corpus.meanWordLength.toFixed(2)}` + (corpus.generatedSeconds > 0 ? ` (generated in ${corpus.generatedSeconds.toFixed(1)} s)` : ' (cached)'))
  warmPageCache(corpus.path)
  const child = buildChild()

  // The job, bundled by the built bundler: it must point 'weir' at dist/index.js.
  let artifact: { url: string; dispose(): void } | null = null
  if (options.only.some((c) => c !== 'baseline')) {
    const { bundleJob } = (await import(pathToFileURL(DIST_BUNDLE).href)) as typeof import('../src/cli/bundle.ts')
    artifact = await bundleJob(JOB)
    const code = readFileSync(fileURLToPath(artifact.url), 'utf8')
    if (!code.includes(JSON.stringify(DIST_INDEX)) || /src[\\/]index\.ts/.test(code)) {
      console.error(`error: the bundled job does not import the runtime from ${DIST_INDEX}`)
      process.exit(1)
    }
  }

  const cpuProfDir = options.cpuProf ? PROFILE_DIR : null
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true })
  const all: Run[] = []
  let failed = false
  try {
    for (let round = 1; round <= options.repeat; round++) {
      for (const config of options.only) {
        process.stdout.write(`running ${config}${options.repeat > 1 ? ` (round ${round}/${options.repeat})` : ''} ... `)
        const busyBefore = machineBusySeconds()
        const spawned = performance.now()
        const result = config === 'baseline'
          ? await runChild(child, config, 'baseline', { corpus: corpus.path }, null)
          : await runChild(child, config, 'weir', { corpus: corpus.path, parallelism: config === 'p1' ? 1 : 2, artifactUrl: artifact!.url, runtimeUrl: pathToFileURL(DIST_INDEX).href, config: options.config }, cpuProfDir)
        const busyAfter = machineBusySeconds()
        const wall = Math.max(0.001, (performance.now() - spawned) / 1000)
        // Rough (the child's CPU is read just before it exits), but enough to spot interference.
        const otherCores = busyBefore !== null && busyAfter !== null ? Math.max(0, (busyAfter - busyBefore - result.cpuSeconds) / wall) : null
        const profiles = cpuProfDir && config !== 'baseline' ? collectProfiles(cpuProfDir, `${stamp}-${config}${options.repeat > 1 ? `-r${round}` : ''}`) : []
        all.push({ ...result, config, round, wordsPerSecond: result.seconds > 0 ? result.words / result.seconds : 0, peakRssMB: result.maxRssKiB / 1024, profiles, otherCores })
        if (!result.ok) {
          console.log('FAILED')
          console.error(`error: ${config}: ${result.error}`)
          failed = true
          continue
        }
        console.log(`${result.seconds.toFixed(2)} s${otherCores !== null && otherCores > 0.25 ? ` (other processes used ${otherCores.toFixed(2)} cores meanwhile: figures are disturbed)` : ''}`)
      }
    }
  } finally {
    // With profiles, keep the bundle: profile-summary maps the job's code through its inline source map.
    if (options.cpuProf && artifact) console.log(`kept the job bundle for the profiles: ${fileURLToPath(artifact.url)}`)
    else artifact?.dispose()
  }

  // Correctness: every run counted every word of the corpus, and the job read every line.
  const problems: string[] = []
  const baseWords = all.find((r) => r.config === 'baseline' && r.ok)?.words
  for (const run of all) {
    if (!run.ok) continue
    if (run.words !== corpus.words) problems.push(`${run.config} counted ${fmtInt(run.words)} words, the corpus has ${fmtInt(corpus.words)}`)
    if (run.lines !== corpus.lines) problems.push(`${run.config} read ${fmtInt(run.lines)} lines, the corpus has ${fmtInt(corpus.lines)}`)
    if (run.config !== 'baseline' && baseWords !== undefined && run.words !== baseWords) problems.push(`${run.config}: recordsOut ${fmtInt(run.words)} differs from the baseline's ${fmtInt(baseWords)} words`)
  }

  // Per configuration: its fastest successful run; peak RSS over all its runs.
  interface Summary { best: Run; runs: Run[]; medianSeconds: number; peakRssMB: number }
  const summaries = new Map<ConfigName, Summary>()
  for (const config of options.only) {
    const runs = all.filter((r) => r.config === config && r.ok)
    if (runs.length === 0) continue
    const sorted = [...runs].sort((a, b) => a.seconds - b.seconds)
    const mid = sorted.length >> 1
    const medianSeconds = sorted.length % 2 === 1 ? sorted[mid]!.seconds : (sorted[mid - 1]!.seconds + sorted[mid]!.seconds) / 2
    summaries.set(config, { best: sorted[0]!, runs, medianSeconds, peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)) })
  }
  const base = summaries.get('baseline')
  const p1 = summaries.get('p1')
  const p2 = summaries.get('p2')

  const header = ['configuration', 'words', 'seconds', 'words/s', 'x baseline', 'peak RSS MB', 'CPU s', 'other load']
  if (options.repeat > 1) header.splice(3, 0, 'median s')
  const rows: string[][] = [header]
  for (const [config, s] of summaries) {
    const r = s.best
    const ratio = base ? (r.wordsPerSecond / base.best.wordsPerSecond).toFixed(3) : '-'
    const label = config === 'baseline' ? 'baseline (hand-written loop)' : `weir -p ${config.slice(1)}`
    const row = [label, fmtInt(r.words), r.seconds.toFixed(2), fmtInt(r.wordsPerSecond), ratio, s.peakRssMB.toFixed(0), r.cpuSeconds.toFixed(2), r.otherCores === null ? '-' : r.otherCores.toFixed(2)]
    if (options.repeat > 1) row.splice(3, 0, s.medianSeconds.toFixed(2))
    rows.push(row)
  }
  console.log(`\n${table(rows)}`)
  console.log(`${options.repeat > 1 ? `the fastest of ${options.repeat} runs; ` : ''}CPU s: CPU time of the process, all threads; other load: cores used by other processes meanwhile`)

  const ratios = {
    p1VsBaseline: base && p1 ? p1.best.wordsPerSecond / base.best.wordsPerSecond : null,
    p2VsBaseline: base && p2 ? p2.best.wordsPerSecond / base.best.wordsPerSecond : null,
    p2VsP1: p1 && p2 ? p2.best.wordsPerSecond / p1.best.wordsPerSecond : null,
  }
  if (ratios.p2VsP1 !== null) console.log(`\np2 / p1 = ${ratios.p2VsP1.toFixed(3)}`)

  const verdict = (ok: boolean | null): 'PASS' | 'MISS' | 'n/a' => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS')
  const weir = [p1, p2].filter((s): s is Summary => s !== undefined)
  const peak = weir.length > 0 ? Math.max(...weir.map((s) => s.peakRssMB)) : null
  const targets = [
    { target: 'p1 >= 1/3 of baseline', value: ratios.p1VsBaseline, threshold: TARGETS.p1VsBaseline, result: verdict(ratios.p1VsBaseline === null ? null : ratios.p1VsBaseline >= TARGETS.p1VsBaseline) },
    { target: 'p2 >= 1.6 x p1', value: ratios.p2VsP1, threshold: TARGETS.p2VsP1, result: verdict(ratios.p2VsP1 === null ? null : ratios.p2VsP1 >= TARGETS.p2VsP1) },
    { target: `peak RSS < ${TARGETS.peakRssMB} MB (weir runs)`, value: peak, threshold: TARGETS.peakRssMB, result: verdict(peak === null ? null : peak < TARGETS.peakRssMB) },
  ]
  console.log('\ntargets:')
  for (const t of targets) console.log(`  ${t.result.padEnd(4)}  ${t.target}: ${t.value === null ? '-' : t.value.toFixed(3)}`)

  const profiles = all.flatMap((r) => r.profiles)
  if (profiles.length > 0) {
    console.log('\nCPU profiles (thread1..thread<p> are the slot workers, in slot order):')
    for (const p of profiles) console.log(`  ${relative(ROOT, p)}`)
    console.log('summarise one with: node --import tsx bench/profile-summary.ts <file>')
  }

  mkdirSync(RESULTS_DIR, { recursive: true })
  const rel = (r: Run) => ({ ...r, profiles: r.profiles.map((p) => relative(ROOT, p)) })
  const json = {
    benchmark: 'wordcount',
    timestamp: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    options,
    corpus: { ...corpus, path: relative(ROOT, corpus.path) },
    /** The fastest run of each configuration, as in the table. */
    results: Object.fromEntries([...summaries].map(([k, s]) => [k, { ...rel(s.best), medianSeconds: s.medianSeconds, peakRssMBAllRuns: s.peakRssMB }])),
    ratios,
    targets,
    problems,
    /** Every run, in the order they ran. */
    runs: all.map(rel),
  }
  const out = join(RESULTS_DIR, 'wordcount.json')
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n')
  console.log(`\nwrote ${relative(ROOT, out)}`)

  if (problems.length > 0) {
    for (const p of problems) console.error(`error: ${p}`)
    failed = true
  }
  if (failed) process.exit(1)
}

await main()
