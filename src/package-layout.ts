// Where Weir's own files are, for the code that must name them: the runtime entry a job's bundle
// imports as 'weir-stream', a slot thread's entry, the web UI's files, package.json.
//
// Paths are taken from this module's own location: the package's directory is the nearest one
// above it with a package.json, and the running code's top directory is the one below that which
// holds this module: src/ when Weir runs from its TypeScript sources, dist/ when built, or a test
// build's compiled src/ (scripts/build-tests.mjs). Not from a module's own import.meta.url with a
// relative path: built, dist/ is bundled (scripts/bundle-dist.mjs), and there import.meta.url is
// the URL of the chunk the code landed in, at whatever depth.

import { existsSync } from 'node:fs'
import { dirname, extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(import.meta.url)

/** True when Weir runs from its TypeScript sources (tests, development), false when built. */
export const FROM_SOURCES = extname(here) === '.ts'

function packageDirAbove(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${file}`)
  }
}

/** The package's directory, where package.json is. */
export const PACKAGE_DIR = packageDirAbove(here)

/** The top directory of the running code (src/ or dist/). */
export const CODE_DIR = join(PACKAGE_DIR, relative(PACKAGE_DIR, here).split(sep)[0]!)

/** The running code's file for a module path such as 'runtime/taskmanager/slot-worker'. */
export function codeFile(modulePath: string): string {
  return join(CODE_DIR, `${modulePath}${FROM_SOURCES ? '.ts' : '.js'}`)
}

/** The runtime's entry, what a job's bundle imports as 'weir-stream' (src/index.ts, or dist/index.js). */
export const RUNTIME_ENTRY = codeFile('index')
