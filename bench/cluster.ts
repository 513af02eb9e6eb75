// The cluster benchmark (`npm run bench:cluster`): real `weir jobmanager` / `weir taskmanager`
// processes from dist/ on loopback, driven through the JobManager's REST API.
//
//   throughput   the word count (bench/jobs/wordcount-discard.ts) at -p 2 on one TaskManager
//                with 2 slots (slots exchange through MessagePorts) against two TaskManagers
//                with 1 slot each on 127.0.0.2 and 127.0.0.3 (every record of the keyed exchange
//                that changes slot crosses TCP), alternating, --repeat rounds; the best run of
//                each and their ratio
//   recovery     bench/jobs/backpressure.ts (unbounded, sink-us 0) at -p 2 on two TaskManagers
//                with a standby registered, checkpoints every 1 s; kill -9 of one TaskManager,
//                then the time until the job's new attempt reports records again (REST metrics,
//                which slots report every 200 ms), with the default restart strategy
//                (exponential-delay, 1 s first backoff), with fixed-delay 0, and with the
//                default strategy on TaskManagers without spare slot threads (the baseline:
//                taskmanager.spare-slot-threads=0), alternating, --recovery-rounds rounds of
//                each; the median and the spread of each
//   memory       bench/jobs/backpressure.ts at -p 2 over two TaskManagers with a slow sink
//                (--sink-us), sampled RSS of both TaskManager processes for --mem-seconds
//
//   npm run bench:cluster                           # 10M words, 3 rounds
//   npm run bench:cluster -- --words 2000000 --repeat 1 --only throughput
//   npm run bench:cluster -- --only recovery --recovery-rounds 5
//   npm run bench:cluster -- --only throughput --tm-config taskmanager.spare-slot-threads=0   # -D for every TaskManager
//
// Writes bench/results/cluster.json.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_CORPUS, ensureCorpus } from './corpus.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin', 'weir.js')
const DATA_DIR = join(ROOT, 'bench', '.data')
const RESULTS = join(ROOT, 'bench', 'results')

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const WORDS = Number(arg('words', '10000000'))
const REPEAT = Number(arg('repeat', '3'))
const ONLY = arg('only', 'throughput,recovery,memory').split(',')
const TM_CONFIG = arg('tm-config', '').split(',').filter((d) => d !== '')
const RECOVERY_ROUNDS = Number(arg('recovery-rounds', '3'))
const MEM_SECONDS = Number(arg('mem-seconds', '15'))
const SINK_US = Number(arg('sink-us', '20'))

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

class Rest {
  constructor(readonly port: number) {}
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    const json = await res.json() as T
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
    return json
  }
}

interface Cluster {
  readonly rest: Rest
  readonly rpcPort: number
  readonly jm: ChildProcess
  readonly tms: ChildProcess[]
}

function daemon(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr!.on('data', (c: Buffer) => {
    const text = c.toString()
    if (/error|failed/i.test(text)) process.stderr.write(text)
  })
  return child
}

async function startCluster(): Promise<Cluster> {
  const restPort = await freePort()
  const rpcPort = await freePort()
  const jm = daemon(['jobmanager', '-D', `rest.port=${restPort}`, '-D', `jobmanager.rpc.port=${rpcPort}`, '-D', 'jobmanager.rpc.address=127.0.0.1'])
  const rest = new Rest(restPort)
  for (;;) {
    try {
      await rest.call('GET', '/taskmanagers')
      break
    } catch {
      await sleep(50)
    }
  }
  return { rest, rpcPort, jm, tms: [] }
}

async function addTaskManager(c: Cluster, host: string, slots: number, defines: readonly string[] = []): Promise<ChildProcess> {
  const before = (await c.rest.call<{ taskmanagers: unknown[] }>('GET', '/taskmanagers')).taskmanagers.length
  const tm = daemon(['taskmanager', '--rpc', `127.0.0.1:${c.rpcPort}`, '-D', `taskmanager.host=${host}`, '-D', `taskmanager.numberOfTaskSlots=${slots}`, ...[...TM_CONFIG, ...defines].flatMap((d) => ['-D', d])])
  c.tms.push(tm)
  while ((await c.rest.call<{ taskmanagers: unknown[] }>('GET', '/taskmanagers')).taskmanagers.length <= before) await sleep(50)
  return tm
}

async function stopTaskManagers(c: Cluster): Promise<void> {
  for (const tm of c.tms.splice(0)) {
    tm.kill('SIGTERM')
    await new Promise((r) => (tm.exitCode !== null || tm.signalCode !== null ? r(null) : tm.once('exit', r)))
  }
  while ((await c.rest.call<{ taskmanagers: unknown[] }>('GET', '/taskmanagers')).taskmanagers.length > 0) await sleep(50)
}

async function stopCluster(c: Cluster): Promise<void> {
  await stopTaskManagers(c).catch(() => {})
  c.jm.kill('SIGTERM')
  await new Promise((r) => (c.jm.exitCode !== null ? r(null) : c.jm.once('exit', r)))
}

async function artifactOf(job: string): Promise<string> {
  const { bundleJob } = (await import(pathToFileURL(join(ROOT, 'dist', 'cli', 'bundle.js')).href)) as typeof import('../src/cli/bundle.ts')
  const a = await bundleJob(job)
  const bytes = readFileSync(fileURLToPath(a.url)).toString('base64')
  a.dispose()
  return bytes
}

interface JobView {
  state: string
  'start-time': number
  'end-time': number
  duration: number
  restarts: number
  metrics: { 'records-in': number; 'records-out': number }
}

async function submit(c: Cluster, artifact: string, args: string[], config: Record<string, string | number>): Promise<string> {
  return (await c.rest.call<{ jobid: string }>('POST', '/jobs', { artifact, args, config })).jobid
}

async function job(c: Cluster, id: string): Promise<JobView> {
  return c.rest.call<JobView>('GET', `/jobs/${id}`)
}

async function throughput(c: Cluster, corpusPath: string): Promise<Record<string, unknown>> {
  const artifact = await artifactOf(join(ROOT, 'bench', 'jobs', 'wordcount-discard.ts'))
  const layouts = { '1 TM x 2 slots': [['127.0.0.1', 2]], '2 TMs x 1 slot': [['127.0.0.2', 1], ['127.0.0.3', 1]] } as const
  const runs: Record<string, number[]> = { '1 TM x 2 slots': [], '2 TMs x 1 slot': [] }
  for (let round = 0; round < REPEAT; round++) {
    for (const [name, tms] of Object.entries(layouts)) {
      for (const [host, slots] of tms) await addTaskManager(c, host, slots)
      const id = await submit(c, artifact, ['--input', corpusPath], { 'parallelism.default': 2 })
      let v = await job(c, id)
      while (v.state !== 'FINISHED' && v.state !== 'FAILED') {
        await sleep(20)
        v = await job(c, id)
      }
      if (v.state !== 'FINISHED') throw new Error(`${name}: the job ${v.state}`)
      const seconds = (v['end-time'] - v['start-time']) / 1000
      runs[name]!.push(WORDS / seconds)
      console.log(`throughput round ${round + 1}, ${name}: ${seconds.toFixed(2)} s, ${(WORDS / seconds / 1e6).toFixed(2)} M words/s`)
      await stopTaskManagers(c)
    }
  }
  const best = (n: string) => Math.max(...runs[n]!)
  const ratio = best('2 TMs x 1 slot') / best('1 TM x 2 slots')
  console.log(`throughput: 2 TMs x 1 slot / 1 TM x 2 slots = ${ratio.toFixed(3)} (best of ${REPEAT}; target >= 0.85)`)
  return { words: WORDS, wordsPerSecond: runs, best: { oneTmTwoSlots: best('1 TM x 2 slots'), twoTmsOneSlot: best('2 TMs x 1 slot') }, ratio }
}

type RecoveryVariant = 'default' | 'fixed-delay-0' | 'default, no spare threads'

async function recovery(c: Cluster, variant: RecoveryVariant): Promise<Record<string, unknown>> {
  const restart = variant === 'fixed-delay-0' ? 'fixed-delay-0' : 'default'
  // The baseline: TaskManagers that start every slot thread on demand (no spares loaded ahead).
  const defines = variant === 'default, no spare threads' ? ['taskmanager.spare-slot-threads=0'] : []
  const artifact = await artifactOf(join(ROOT, 'bench', 'jobs', 'backpressure.ts'))
  const a = await addTaskManager(c, '127.0.0.2', 1, defines)
  await addTaskManager(c, '127.0.0.3', 1, defines)
  const config: Record<string, string | number> = { 'parallelism.default': 2, 'execution.checkpointing.interval': '1s', 'execution.checkpointing.dir': join(DATA_DIR, 'cluster-ckpt') }
  if (restart === 'fixed-delay-0') Object.assign(config, { 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5, 'restart-strategy.fixed-delay.delay': '0ms' })
  const id = await submit(c, artifact, ['--sink-us', '0', '--keys', '1000'], config)
  while ((await c.rest.call<{ counts: { completed: number } }>('GET', `/jobs/${id}/checkpoints`)).counts.completed < 2) await sleep(50)
  await addTaskManager(c, '127.0.0.4', 1, defines) // the standby
  const before = await job(c, id)
  const killedAt = performance.now()
  a.kill('SIGKILL')
  let v = before
  // The new attempt: restarts went up, and its slots report records.
  while (!(v.restarts > before.restarts && v.state === 'RUNNING' && v.metrics['records-in'] > 0)) {
    await sleep(5)
    v = await job(c, id)
  }
  const seconds = (performance.now() - killedAt) / 1000
  console.log(`recovery (${variant}): kill -9 to records flowing again: ${seconds.toFixed(2)} s (target <= 3 s)`)
  await c.rest.call('PATCH', `/jobs/${id}`)
  while ((await job(c, id)).state !== 'CANCELED') await sleep(50)
  c.tms.splice(c.tms.indexOf(a), 1)
  await stopTaskManagers(c)
  return { variant, seconds }
}

async function recoveryRounds(c: Cluster): Promise<Record<string, unknown>> {
  const runs: Record<RecoveryVariant, number[]> = { default: [], 'fixed-delay-0': [], 'default, no spare threads': [] }
  for (let round = 0; round < RECOVERY_ROUNDS; round++) {
    for (const variant of Object.keys(runs) as RecoveryVariant[]) runs[variant].push((await recovery(c, variant)).seconds as number)
  }
  const summary: Record<string, unknown> = { rounds: RECOVERY_ROUNDS, seconds: runs }
  const medians: Record<string, number> = {}
  for (const [restart, seconds] of Object.entries(runs)) {
    const sorted = [...seconds].sort((a, b) => a - b)
    const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
    summary[restart] = { median, min: sorted[0], max: sorted.at(-1) }
    medians[restart] = median
    console.log(`recovery (${restart}), ${RECOVERY_ROUNDS} round(s): median ${median.toFixed(2)} s, min ${sorted[0]!.toFixed(2)} s, max ${sorted.at(-1)!.toFixed(2)} s (target <= 3 s)`)
  }
  const ratio = medians['default']! / medians['default, no spare threads']!
  console.log(`recovery: default / default without spare threads = ${ratio.toFixed(3)} (medians)`)
  summary.ratioToNoSpares = ratio
  return summary
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

async function memory(c: Cluster): Promise<Record<string, unknown>> {
  const artifact = await artifactOf(join(ROOT, 'bench', 'jobs', 'backpressure.ts'))
  const tms = [await addTaskManager(c, '127.0.0.2', 1), await addTaskManager(c, '127.0.0.3', 1)]
  const id = await submit(c, artifact, ['--sink-us', String(SINK_US), '--keys', '10000'], { 'parallelism.default': 2 })
  while ((await job(c, id)).metrics['records-in'] === 0) await sleep(50)
  const samples: Array<{ t: number; rss: number[] }> = []
  const started = performance.now()
  while (performance.now() - started < MEM_SECONDS * 1000) {
    samples.push({ t: (performance.now() - started) / 1000, rss: tms.map((t) => rssOf(t.pid!)) })
    await sleep(250)
  }
  const v = await job(c, id)
  await c.rest.call('PATCH', `/jobs/${id}`)
  while ((await job(c, id)).state !== 'CANCELED') await sleep(50)
  await stopTaskManagers(c)
  const mib = (b: number) => b / 1048576
  const early = samples.find((s) => s.t >= 2) ?? samples[0]!
  const peak = tms.map((_, i) => Math.max(...samples.map((s) => s.rss[i]!)))
  const last = samples.at(-1)!.rss
  console.log(`memory under back-pressure over TCP (${MEM_SECONDS} s, sink ${SINK_US} µs/record, ${v.metrics['records-in']} records in, ${v.metrics['records-out']} out):`)
  tms.forEach((_, i) => console.log(`  TaskManager ${i}: RSS at 2 s ${mib(early.rss[i]!).toFixed(1)} MiB, peak ${mib(peak[i]!).toFixed(1)} MiB, at the end ${mib(last[i]!).toFixed(1)} MiB`))
  return { seconds: MEM_SECONDS, sinkMicros: SINK_US, recordsIn: v.metrics['records-in'], recordsOut: v.metrics['records-out'], rssAt2s: early.rss, peakRss: peak, endRss: last, samples }
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true })
  const results: Record<string, unknown> = { when: new Date().toISOString() }
  const c = await startCluster()
  try {
    if (ONLY.includes('throughput')) {
      const corpus = ensureCorpus(DATA_DIR, { ...DEFAULT_CORPUS, words: WORDS }, (m) => console.log(m))
      results.throughput = await throughput(c, corpus.path)
    }
    if (ONLY.includes('recovery')) results.recovery = await recoveryRounds(c)
    if (ONLY.includes('memory')) results.memory = await memory(c)
  } finally {
    await stopCluster(c)
  }
  writeFileSync(join(RESULTS, 'cluster.json'), JSON.stringify(results, null, 2))
  console.log(`wrote ${join(RESULTS, 'cluster.json')}`)
}

await main()
