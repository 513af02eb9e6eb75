// Type-checks a job file before it runs (`weir run`, `weir check`), with the TypeScript compiler
// of the user's project if it has one, else the one Weir depends on. The job's own tsconfig.json
// (the nearest one up to the project root) is extended when there is one; otherwise strict
// defaults that match how `weir run` bundles the job. Only the job file and what it imports are
// checked, not the rest of the project. The compiler runs as a child process: TypeScript 7's
// `tsc` is a native binary with no in-process API, and it checks a small job in well under a
// second.

import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, extname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FROM_SOURCES, PACKAGE_DIR, RUNTIME_ENTRY } from '../package-layout.ts'
import { UserError } from '../errors.ts'

export interface TypeScriptCompiler {
  /** The `tsc` entry script. */
  readonly bin: string
  readonly version: string
  /** Whose compiler it is. */
  readonly from: 'project' | 'weir'
}

export interface TypecheckResult {
  /** Diagnostics as `file:line:column - error TSnnnn: message`, file relative to the working directory. */
  readonly errors: string[]
  readonly compiler: TypeScriptCompiler
  readonly durationMs: number
}

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx'])
const here = fileURLToPath(import.meta.url)
/** The types of `weir-stream` that the bundler's runtime matches: sources when run from src, declarations when built. */
const WEIR_TYPES = FROM_SOURCES ? RUNTIME_ENTRY : join(PACKAGE_DIR, 'dist/index.d.ts')

/** True for files the type check applies to (TypeScript, not JavaScript). */
export function isTypeScriptJob(jobPath: string): boolean {
  return TYPESCRIPT_EXTENSIONS.has(extname(jobPath))
}

/** The project's TypeScript (resolved from the job's directory), else Weir's own; null when neither is installed. */
export function findTypeScript(jobDir: string): TypeScriptCompiler | null {
  const candidates: Array<[string, TypeScriptCompiler['from']]> = [[join(jobDir, 'noop.js'), 'project'], [here, 'weir']]
  for (const [from, who] of candidates) {
    try {
      const pkgPath = createRequire(from).resolve('typescript/package.json')
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string; bin?: { tsc?: string } }
      const bin = join(dirname(pkgPath), pkg.bin?.tsc ?? 'bin/tsc')
      if (existsSync(bin)) return { bin, version: pkg.version, from: who }
    } catch {
      // not installed there
    }
  }
  return null
}

/** The nearest tsconfig.json from the job's directory up to its project root (the first directory with a package.json). */
export function findProjectTsconfig(jobDir: string): string | null {
  let dir = jobDir
  for (;;) {
    const candidate = join(dir, 'tsconfig.json')
    if (existsSync(candidate)) return candidate
    if (existsSync(join(dir, 'package.json'))) return null
    const parent = dirname(dir)
    if (parent === dir) return null
    dir = parent
  }
}

/** Every node_modules/@types from `start` upwards. */
function typeRootsFrom(start: string): string[] {
  const roots: string[] = []
  let dir = start
  for (;;) {
    const candidate = join(dir, 'node_modules', '@types')
    if (existsSync(candidate)) roots.push(candidate)
    const parent = dirname(dir)
    if (parent === dir) return roots
    dir = parent
  }
}

/** Type-checks the job file; resolves with its errors (empty when it type-checks). */
export async function typecheckJob(jobPath: string, cwd = process.cwd()): Promise<TypecheckResult | null> {
  const job = resolve(cwd, jobPath)
  const jobDir = dirname(job)
  const compiler = findTypeScript(jobDir)
  if (!compiler) return null
  const started = performance.now()
  const projectConfig = findProjectTsconfig(jobDir)
  // The compiler looks for @types next to the tsconfig, which here is a temporary one: name them.
  const typeRoots = [...new Set([...typeRootsFrom(jobDir), ...typeRootsFrom(PACKAGE_DIR)])]
  // TypeScript 6+ includes no @types by default; a job runs on Node, so give it Node's types when they are installed.
  const types = typeRoots.some((root) => existsSync(join(root, 'node'))) ? ['node'] : []
  const compilerOptions: Record<string, unknown> = projectConfig
    ? { noEmit: true, composite: false, incremental: false, declaration: false, typeRoots }
    : {
        // How `weir run` treats the job: bundled by esbuild for Node 20, 'weir-stream' resolved to the runtime that runs it.
        strict: true, target: 'ES2022', lib: ['ES2023'], module: 'preserve', moduleResolution: 'bundler',
        allowImportingTsExtensions: true, noEmit: true, skipLibCheck: true, esModuleInterop: true,
        paths: { 'weir-stream': [WEIR_TYPES] }, typeRoots, types,
      }
  const dir = mkdtempSync(join(tmpdir(), 'weir-typecheck-'))
  const config = join(dir, 'tsconfig.json')
  writeFileSync(config, JSON.stringify({ ...(projectConfig ? { extends: projectConfig } : {}), compilerOptions, files: [job], include: [] }, null, 2))
  try {
    const { code, output } = await run(compiler.bin, ['-p', config, '--pretty', 'false'], jobDir)
    const errors = parseDiagnostics(output, jobDir, cwd)
    if (code !== 0 && errors.length === 0) {
      // Not a diagnostic of the job (a bad tsconfig option, a crash): show what the compiler said.
      errors.push(...output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0))
      if (errors.length === 0) errors.push(`the TypeScript compiler (${compiler.bin}) exited with code ${code}`)
    }
    return { errors, compiler, durationMs: performance.now() - started }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `file(line,col): error TSnnnn: message` lines to `file:line:col - error TSnnnn: message`, paths relative to `cwd`. */
function parseDiagnostics(output: string, compilerCwd: string, cwd: string): string[] {
  const out: string[] = []
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(line.trimEnd())
    if (m) out.push(`${displayPath(resolve(compilerCwd, m[1]!), cwd)}:${m[2]}:${m[3]} - ${m[4]}`)
    else if (/^\s+\S/.test(line) && out.length > 0) out[out.length - 1] += `\n  ${line.trim()}` // a message's continuation
  }
  return out
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file)
  return rel.startsWith('..') || rel === '' ? file : rel
}

function run(bin: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error)
      resolvePromise({ code: error ? (error.code as number) : 0, output: `${stdout}${stderr}` })
    })
  })
}

/** Fails with one UserError listing the job's type errors (one line when there is one). */
export function throwTypeErrors(jobPath: string, result: TypecheckResult): never {
  const n = result.errors.length
  const message = n === 1
    ? `${result.errors[0]!.replace(/\.$/, '')} (--no-typecheck skips the type check)`
    : `${jobPath} has ${n} type errors (--no-typecheck skips the check):\n${result.errors.map((e) => `  ${e}`).join('\n')}`
  throw new UserError('WEIR_INVALID_JOB', message)
}
