// Bundles the built runtime: after tsc has written dist/'s declarations, esbuild writes its
// JavaScript as a few entry modules and the chunks they share (directly in dist/), instead of one
// file per source module. Run by `npm run build`.
//
// Why: every slot is a worker thread that loads the runtime, and every `weir` command a process
// that loads the CLI; Node's ESM loader pays per module (resolve, stat, read, link), and the
// runtime is ~170 modules. Bundled, a slot thread's start costs about a quarter less CPU.
// Splitting keeps one copy of each module across the entries (a class is the same class whether
// it came through dist/index.js or dist/cli/main.js) and keeps lazy imports lazy (the LMDB
// backend, the cluster commands).
//
// The entries are every dist/ module that something outside dist/ imports by path: the package's
// export, the CLI, a slot thread's entry, and the modules tests and benchmarks load from dist/.

import { build } from 'esbuild'
import { readdirSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const ENTRIES = [
  'index', // the package ('weir-stream'), what a job's bundle imports
  'cli/main', // bin/weir.js
  'runtime/taskmanager/slot-worker', // a slot thread's entry (slot-thread-pool.ts)
  'cli/bundle', 'runtime/jobmanager/mini-cluster', // test/helpers/runtime.ts, bench/
  'checkpoint/checkpoint-stats', 'rest/job-registry', 'rest/server', 'metrics/job-metric-store', 'config/configuration', 'checkpoint/checkpoint-options', // bench/observability.ts
]

// JavaScript from an earlier build (unbundled, or older chunks) goes first; declarations stay.
function removeJavaScript(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (name === 'web') continue
    if (statSync(path).isDirectory()) removeJavaScript(path)
    else if (/\.js(\.map)?$/.test(name)) rmSync(path)
  }
}
removeJavaScript(dist)

await build({
  entryPoints: ENTRIES.map((e) => ({ in: join(root, 'src', `${e}.ts`), out: e })),
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  sourcemap: true,
  logLevel: 'warning',
})
