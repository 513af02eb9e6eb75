// The start-up benchmark (`npm run bench:startup`): how a job's start-up cost grows with its
// parallelism. Jobs of three records (bench/jobs/startup-*.ts: a rebalance fanning out from one
// source subtask, and a keyBy) run with `weir run -p P` from dist/ (the built package, as a user
// runs it), without the type check, one process per run. For each P it reports the wall time of
// the process, the job's own duration (from its final log line), the CPU time of the process
// (every thread), and the cost per slot as a ratio against -p 1 of the same run: a ratio below
// 1 means slots are cheaper together than alone.
//
//   npm run bench:startup                                 # -p 1, 20, 200, both jobs, 1 round
//   npm run bench:startup -- --parallelism 1,20 --jobs keyed --repeat 3
//
// Writes bench/results/startup.json.

import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin', 'weir.js')
const CPU_REPORT = pathToFileURL(join(ROOT, 'bench', 'cpu-report.mjs')).href
const RESULTS = join(ROOT, 'bench', 'results')

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const PARALLELISM = arg('parallelism', '1,20,200').split(',').map(Number)
const JOBS = arg('jobs', 'rebalance,keyed').split(',')
const REPEAT = Number(arg('repeat', '1'))
const EXTRA = arg('define', '').split(',').filter((d) => d !== '')

interface Run {
  readonly job: string
  readonly parallelism: number
  readonly wallMs: number
  readonly jobMs: number
  readonly cpuMs: number
}

function runOnce(job: string, parallelism: number): Promise<Run> {
  const file = join(ROOT, 'bench', 'jobs', `startup-${job}.ts`)
  const args = ['--import', CPU_REPORT, BIN, 'run', '--no-typecheck', '-p', String(parallelism), '-D', 'rest.port=0', ...EXTRA.flatMap((d) => ['-D', d]), file]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      const wallMs = performance.now() - started
      const lines = stdout.trim().split('\n').filter((l) => /^\d+> |^\d+$/.test(l))
      const cpu = /WEIR_BENCH_CPU_US (\d+)/.exec(stderr)
      const duration = /"durationMs":(\d+)/.exec(stderr)
      if (code !== 0 || !cpu || !duration) {
        reject(new Error(`weir run -p ${parallelism} ${job} exited with ${code}:\n${stderr.slice(-2000)}`))
        return
      }
      // The job prints its three records: a run that lost one is no measurement.
      if (lines.length < 1) {
        reject(new Error(`weir run -p ${parallelism} ${job} printed no records:\n${stdout.slice(-500)}`))
        return
      }
      resolve({ job, parallelism, wallMs, jobMs: Number(duration[1]), cpuMs: Number(cpu[1]) / 1000 })
    })
  })
}

const runs: Run[] = []
for (let round = 0; round < REPEAT; round++) {
  for (const job of JOBS) {
    for (const p of PARALLELISM) {
      const r = await runOnce(job, p)
      runs.push(r)
      process.stderr.write(`  ${job} -p ${p}: process ${r.wallMs.toFixed(0)} ms, job ${r.jobMs} ms, cpu ${r.cpuMs.toFixed(0)} ms\n`)
    }
  }
}

// Best of the rounds per (job, parallelism); per-slot figures against -p 1 (or the smallest P).
const best = new Map<string, Run>()
for (const r of runs) {
  const key = `${r.job}/${r.parallelism}`
  const seen = best.get(key)
  if (!seen || r.wallMs < seen.wallMs) best.set(key, r)
}
const table: Array<Record<string, string | number>> = []
for (const job of JOBS) {
  const base = best.get(`${job}/${Math.min(...PARALLELISM)}`)!
  const basePerSlot = { job: base.jobMs / base.parallelism, cpu: base.cpuMs / base.parallelism }
  for (const p of PARALLELISM) {
    const r = best.get(`${job}/${p}`)!
    table.push({
      job, parallelism: p, processMs: Math.round(r.wallMs), jobMs: r.jobMs, cpuMs: Math.round(r.cpuMs),
      jobMsPerSlot: Math.round(r.jobMs / p), cpuMsPerSlot: Math.round(r.cpuMs / p),
      jobPerSlotVsP1: +(r.jobMs / p / basePerSlot.job).toFixed(3), cpuPerSlotVsP1: +(r.cpuMs / p / basePerSlot.cpu).toFixed(3),
    })
  }
}
console.table(table)
mkdirSync(RESULTS, { recursive: true })
writeFileSync(join(RESULTS, 'startup.json'), JSON.stringify({ date: new Date().toISOString(), repeat: REPEAT, define: EXTRA, runs, table }, null, 2))
