// The word count benchmark's child processes (wordcount.ts): bench/child.ts built to plain
// JavaScript, run once per configuration, its result line read back, its CPU profiles renamed;
// and what the machine did meanwhile (other processes' CPU, the page cache warmed beforehand).

import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, readSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { buildSync } from 'esbuild'
import { RESULT_PREFIX, type BaselineParams, type ChildResult, type WeirParams } from './protocol.ts'
import { BENCH, DATA_DIR, ROOT, type PlainMode } from './wordcount-plan.ts'

/** Reads the corpus once so that the first configuration does not pay for the disk. */
export function warmPageCache(path: string): void {
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

export interface ThreadCpuSplit {
  readonly main: number
  readonly slots: number[]
  readonly other: number
}

/** Splits a weir run's per-thread CPU: the main thread is the process id, the slot threads are the busiest `slots` others. */
export function splitThreadCpu(result: ChildResult, slots: number): ThreadCpuSplit | null {
  if (!result.threads || result.threads.length === 0 || slots < 1) return null
  const others = result.threads.filter((t) => t.tid !== result.pid).sort((a, b) => b.cpuSeconds - a.cpuSeconds)
  return {
    main: result.threads.find((t) => t.tid === result.pid)?.cpuSeconds ?? 0,
    slots: others.slice(0, slots).map((t) => t.cpuSeconds),
    other: others.slice(slots).reduce((sum, t) => sum + t.cpuSeconds, 0),
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null elsewhere. */
export function machineBusySeconds(): number | null {
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
export function buildChild(): string {
  const outfile = join(DATA_DIR, 'child.mjs')
  buildSync({ entryPoints: [join(BENCH, 'child.ts')], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' })
  return outfile
}

export function runChild(child: string, label: string, mode: PlainMode | 'weir', params: BaselineParams | WeirParams, cpuProfDir: string | null): Promise<ChildResult> {
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
        resolve(code === 0 || !result.ok ? result : { ...result, ok: false, error: `${label} exited with code ${code}` })
      } else {
        resolve({ ok: false, error: `${label}: no result (exit code ${code}, signal ${signal}); output: ${out.slice(-2000)}`, words: 0, lines: 0, seconds: 0, maxRssKiB: 0, cpuSeconds: 0, extra: {} })
      }
    })
  })
}

/** Moves the profiles a run wrote to names that say which configuration and thread they are. */
export function collectProfiles(dir: string, label: string): string[] {
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
