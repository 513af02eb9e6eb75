// The observability benchmark, against the built runtime in dist/ (npm run build first):
//
//   rest      GET /jobs/:id/checkpoints with 10,000 checkpoints behind the job (bounded history
//             of web.checkpoints.history = 10, counts and summary over all), and one checkpoint's
//             details: latency p50 / p99 over --requests sequential requests. Target p99 < 20 ms.
//   scrape    word count at -p 2 on a generated corpus, with /metrics scraped every second
//             against no scraping, alternating the two (ABAB...) --rounds times in this process;
//             throughput of each, the best of each, and their ratio. Target: within 2 %.
//
//   npm run bench:observability                       # both, 10M words
//   npm run bench:observability -- --only rest --requests 5000
//   npm run bench:observability -- --words 2000000 --rounds 2
//
// Writes bench/results/observability.json.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_CORPUS, ensureCorpus } from './corpus.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist')
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(DIST, rel)).href)) as T

interface Options { only: string[]; requests: number; words: number; rounds: number; checkpoints: number }

function parseArgs(argv: string[]): Options {
  const o: Options = { only: ['rest', 'scrape'], requests: 2000, words: 10_000_000, rounds: 3, checkpoints: 10_000 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const next = () => argv[++i] ?? ''
    if (a === '--only') o.only = next().split(',')
    else if (a === '--requests') o.requests = Number(next())
    else if (a === '--words') o.words = Number(next())
    else if (a === '--rounds') o.rounds = Number(next())
    else if (a === '--checkpoints') o.checkpoints = Number(next())
    else throw new Error(`unknown option ${a}`)
  }
  return o
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!
}

async function timeRequests(url: string, n: number): Promise<{ p50: number; p99: number; max: number; bytes: number }> {
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const r = await fetch(url)
    const text = await r.text()
    times.push(performance.now() - t0)
    bytes = text.length
    if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${text}`)
  }
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.at(-1)!, bytes }
}

/** A job master's state with `count` completed checkpoints of a 4-vertex job at parallelism 4, as the coordinator records them. */
async function restBench(o: Options): Promise<Record<string, unknown>> {
  const { CheckpointStatsTracker } = await load<typeof import('../src/checkpoint/checkpoint-stats.ts')>('checkpoint/checkpoint-stats.js')
  const { JobRegistry } = await load<typeof import('../src/rest/job-registry.ts')>('rest/job-registry.js')
  const { RestServer } = await load<typeof import('../src/rest/server.ts')>('rest/server.js')
  const { JobMetricStore } = await load<typeof import('../src/metrics/job-metric-store.ts')>('metrics/job-metric-store.js')
  const { Configuration } = await load<typeof import('../src/config/configuration.ts')>('config/configuration.js')
  const { readCheckpointOptions } = await load<typeof import('../src/checkpoint/checkpoint-options.ts')>('checkpoint/checkpoint-options.js')
  const parallelism = 4
  const vertices = [0, 1, 2, 3].map((id) => ({ id, name: `Vertex ${id}`, parallelism, maxParallelism: 128, operators: [{ name: `Vertex ${id}` }], uids: [`u${id}`], inputs: id === 0 ? [] : [{ source: id - 1, partitioner: { type: 'hash' } }] }))
  const tracker = new CheckpointStatsTracker(10)
  const built = performance.now()
  for (let id = 1; id <= o.checkpoints; id++) {
    const triggeredAt = 1_700_000_000_000 + id * 1000
    const tasks = new Map(vertices.map((v) => [v.id, {
      acknowledged: parallelism, total: parallelism, stateSize: 4096 * parallelism, checkpointedSize: 4096 * parallelism, latestAckAt: triggeredAt + 50,
      subtasks: Array.from({ length: parallelism }, (_, subtask) => ({ subtask, ackAt: triggeredAt + 40 + subtask, stateSize: 4096, checkpointedSize: 4096, syncMs: 1, asyncMs: 20 + (id % 17), alignmentMs: id % 5, startDelayMs: id % 7, unaligned: false, persistedBytes: 0 })),
    }]))
    const s = {
      id, status: 'COMPLETED' as const, triggeredAt, isSavepoint: false, durationMs: 40 + (id % 23), stateSize: 65536, checkpointedSize: 65536, persistedBytes: 0,
      acknowledged: 16, total: 16, failureReason: null, maxSyncMs: 1, maxAsyncMs: 36, maxAlignmentMs: 4, path: `/ckpt/chk-${id}`, latestAckAt: triggeredAt + 50, tasks,
    }
    tracker.triggered(s)
    tracker.completed(s)
  }
  const buildMs = performance.now() - built
  const config = new Configuration({ 'execution.checkpointing.interval': '1s' })
  const job = {
    jobId: 'b'.repeat(32), job: { name: 'Bench', config, graph: { vertices } }, status: 'RUNNING' as const, startTime: Date.now(), endTime: null,
    metrics: { recordsIn: 0, recordsOut: 0 }, slots: parallelism, attemptCount: 0, checkpointOptions: readCheckpointOptions(config),
    coordinator: { stats: tracker, counts: { triggered: o.checkpoints, completed: o.checkpoints, failed: 0 }, latest: null, completed: [] },
    taskMetrics: new JobMetricStore(), failures: [], statusTimestamps: {}, restored: null, restoreCount: 0,
    result: new Promise<never>(() => {}), cancel: async () => {}, triggerCheckpoint: () => null,
    triggerSavepoint: async () => '', stopWithSavepoint: async () => '',
  }
  const registry = new JobRegistry()
  registry.register(job as never)
  const server = await RestServer.start(registry, { port: 0 })
  try {
    const base = `${server.url}/jobs/${job.jobId}`
    await timeRequests(`${base}/checkpoints`, 50) // warm up
    const stats = await timeRequests(`${base}/checkpoints`, o.requests)
    const details = await timeRequests(`${base}/checkpoints/details/${o.checkpoints}`, Math.min(o.requests, 1000))
    const r = { checkpoints: o.checkpoints, historySize: 10, recordMsPerCheckpoint: buildMs / o.checkpoints, checkpointsEndpoint: stats, detailsEndpoint: details, targetP99Ms: 20, met: stats.p99 < 20 }
    console.log(`rest: ${o.checkpoints} checkpoints; GET /jobs/:id/checkpoints p50 ${stats.p50.toFixed(2)} ms, p99 ${stats.p99.toFixed(2)} ms (${stats.bytes} bytes); details p99 ${details.p99.toFixed(2)} ms; target p99 < 20 ms: ${r.met ? 'met' : 'MISSED'}`)
    return r
  } finally {
    await server.close()
  }
}

async function scrapeBench(o: Options): Promise<Record<string, unknown>> {
  const { JobExecution } = await load<typeof import('../src/runtime/jobmanager/mini-cluster.ts')>('runtime/jobmanager/mini-cluster.js')
  const { bundleJob } = await load<typeof import('../src/cli/bundle.ts')>('cli/bundle.js')
  const { JobRegistry } = await load<typeof import('../src/rest/job-registry.ts')>('rest/job-registry.js')
  const { RestServer } = await load<typeof import('../src/rest/server.ts')>('rest/server.js')
  const corpus = ensureCorpus(join(ROOT, 'bench', '.data'), { ...DEFAULT_CORPUS, words: o.words }, (m) => console.log(m))
  const artifact = await bundleJob(join(ROOT, 'bench', 'jobs', 'wordcount-discard.ts'))
  const runs: Array<{ scraped: boolean; seconds: number; wordsPerSecond: number; scrapes: number }> = []
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const scraped of [false, true]) {
        const registry = new JobRegistry()
        const server = await RestServer.start(registry, { port: 0 })
        const started = performance.now()
        const execution = await JobExecution.start({ artifactUrl: artifact.url, args: ['--input', corpus.path], config: { 'parallelism.default': 2 } })
        registry.register(execution)
        let scrapes = 0
        const timer = scraped
          ? setInterval(() => {
              void fetch(`${server.url}/metrics`).then((r) => r.text()).then(() => scrapes++)
            }, 1000)
          : null
        const result = await execution.result
        if (timer) clearInterval(timer)
        const seconds = (performance.now() - started) / 1000
        await server.close()
        if (result.status !== 'FINISHED') throw new Error(`word count ${result.status}: ${result.error?.message}`)
        runs.push({ scraped, seconds, wordsPerSecond: o.words / seconds, scrapes })
        console.log(`scrape: round ${round + 1} ${scraped ? 'scraped every 1 s' : 'not scraped     '}: ${seconds.toFixed(2)} s, ${(o.words / seconds / 1e6).toFixed(2)} M words/s${scraped ? `, ${scrapes} scrapes` : ''}`)
      }
    }
  } finally {
    artifact.dispose()
  }
  const best = (scraped: boolean) => Math.max(...runs.filter((r) => r.scraped === scraped).map((r) => r.wordsPerSecond))
  const ratio = best(true) / best(false)
  console.log(`scrape: best scraped / best not scraped = ${ratio.toFixed(3)} (target >= 0.98: ${ratio >= 0.98 ? 'met' : 'MISSED'})`)
  return { words: o.words, parallelism: 2, runs, bestScraped: best(true), bestNotScraped: best(false), ratio, met: ratio >= 0.98 }
}

const options = parseArgs(process.argv.slice(2))
const results: Record<string, unknown> = { at: new Date().toISOString() }
if (options.only.includes('rest')) results['rest'] = await restBench(options)
if (options.only.includes('scrape')) results['scrape'] = await scrapeBench(options)
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
writeFileSync(join(ROOT, 'bench', 'results', 'observability.json'), JSON.stringify(results, null, 2) + '\n')
