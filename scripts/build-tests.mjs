// Compiles the test suite, with the sources it imports, to plain JavaScript in .test-build/, so
// that `npm test` runs every test file on bare Node. Run by `npm test` (pretest), after the build
// of dist/.
//
// Why: on Node 20 a process started with `--import tsx` runs tsx's hooks in a loader thread of
// their own, and every module it loads (ours, and every dependency's) is resolved and loaded by a
// synchronous round trip to that thread. That is about half a second of CPU per test file before
// its first test, and more for files that load much of the runtime; the suite starts more than a
// hundred such processes on two cores. A single test file can still run from its sources
// (`node --import tsx --test test/x.test.ts`), the way a developer runs it while editing.
//
// Layout: .test-build/ mirrors the repository at the same depth, so that every path a test builds
// from import.meta.url (fixtures, examples, the repository's root) resolves as it does in the
// sources. src/, test/, bench/, examples/ and scripts/ are copied, TypeScript files included (the
// job fixtures are bundled from their .ts files), and tsc writes the .js files beside them; what is
// not compiled (dist/, bin/, node_modules/, web/, package.json, README.md, ...) is a symbolic link
// to the original.

import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, '.test-build')
const COMPILED = ['src', 'test', 'bench', 'examples', 'scripts']
/** Generated or private entries of the root that a test build neither copies nor links. */
const SKIPPED = new Set(['.git', '.test-build', 'test-output', '.weir-tmp', 'scratch'])
/** Bench data and results can be large, and no test reads them. */
const SKIPPED_UNDER_BENCH = new Set([join(root, 'bench', '.data'), join(root, 'bench', 'results')])

rmSync(out, { recursive: true, force: true })
mkdirSync(out)
for (const entry of readdirSync(root)) {
  if (SKIPPED.has(entry)) continue
  if (COMPILED.includes(entry)) {
    // With the sources' times: test/helpers/runtime.ts compares them with dist/'s build.
    cpSync(join(root, entry), join(out, entry), { recursive: true, preserveTimestamps: true, filter: (path) => !SKIPPED_UNDER_BENCH.has(path) })
  } else {
    symlinkSync(relative(out, join(root, entry)) || '.', join(out, entry))
  }
}

// The TypeScript compiler Weir depends on (the native one, a few seconds for the whole tree).
const require = createRequire(import.meta.url)
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.test.json')], { stdio: 'inherit', cwd: root })
console.log(`compiled the test suite into ${relative(root, out) + sep}`)
