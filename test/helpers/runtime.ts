// The runtime that in-process job tests start jobs on: the built package (dist/) when it is at
// least as new as every source file, the sources otherwise.
//
// Why: every slot is a worker thread that loads the whole runtime. From src/ each worker first
// registers tsx and compiles the runtime's modules through it, which costs about twice the CPU of
// loading dist/ (measured ~2 s against ~1 s per worker on this machine), and a suite starts
// hundreds of slots. `npm test` builds dist/ first (pretest), so the suite runs on dist/; a single
// test file run right after editing src/ (dist/ older than the edit) runs on the sources and
// therefore still tests the code as it is. WEIR_TEST_RUNTIME=src forces the sources.
//
// Compiled to JavaScript with the rest of the suite (scripts/build-tests.mjs, what `npm test`
// runs), the same rule holds (the test build keeps the sources' times), and "the sources" are
// the compiled ones beside this file. dist/ is bundled and its threads start with less CPU.
//
// Only bundleJob and JobExecution come from here: a test that checks a thrown error with
// `instanceof` against a class from src/ must start its job from src/ itself.

import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type * as BundleModule from '../../src/cli/bundle.ts'
import type * as MiniClusterModule from '../../src/runtime/jobmanager/mini-cluster.ts'

const repo = fileURLToPath(new URL('../..', import.meta.url))

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** True when dist/ was built after the last change to any file under src/. */
export function distIsFresh(): boolean {
  const marker = join(repo, 'dist/index.js')
  if (!existsSync(marker) || !existsSync(join(repo, 'dist/runtime/jobmanager/mini-cluster.js'))) return false
  return statSync(marker).mtimeMs >= newestMtime(join(repo, 'src'))
}

/** The extension of the modules beside this file: .js when the suite runs compiled (.test-build/), else .ts. */
export const SOURCE_EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts'

export const runtimeSource: 'dist' | 'src' = process.env.WEIR_TEST_RUNTIME !== 'src' && distIsFresh() ? 'dist' : 'src'

/** `modulePath` without extension, e.g. 'cli/bundle'. */
async function load<T>(modulePath: string): Promise<T> {
  const file = runtimeSource === 'dist' ? join(repo, 'dist', `${modulePath}.js`) : join(repo, 'src', `${modulePath}${SOURCE_EXTENSION}`)
  return (await import(pathToFileURL(file).href)) as T
}

export const { bundleJob } = await load<typeof BundleModule>('cli/bundle')
export const { JobExecution } = await load<typeof MiniClusterModule>('runtime/jobmanager/mini-cluster')
export type JobExecution = MiniClusterModule.JobExecution
export type { JobResult } from '../../src/runtime/jobmanager/mini-cluster.ts'
export type { JobArtifact } from '../../src/cli/bundle.ts'
