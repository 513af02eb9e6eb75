// Bundles a job module into one ESM artifact with esbuild, the way Flink ships a jar: the
// JobManager and every slot load the same file. The job's own files are inlined; `weir` is
// (the package `weir-stream`) is pointed at the very runtime that runs the job (so there is one copy of it), and other
// packages stay external, referenced by absolute path, so native modules keep working and the
// artifact can live in a temporary directory.

import { build, type Plugin } from 'esbuild'
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { RUNTIME_ENTRY } from '../package-layout.ts'
import { UserError } from '../errors.ts'

export interface JobArtifact {
  readonly url: string
  /** Removes the artifact's directory. */
  dispose(): void
}


export async function bundleJob(jobPath: string): Promise<JobArtifact> {
  const entry = resolve(jobPath)
  if (!existsSync(entry)) throw new UserError('WEIR_INVALID_ARGUMENT', `job file not found: ${jobPath}`)
  if (!statSync(entry).isFile()) throw new UserError('WEIR_INVALID_ARGUMENT', `not a file: ${jobPath}`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-job-'))
  const outfile = join(dir, 'job.mjs')
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [externalPackages()],
    })
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }).errors ?? []
    const first = errors[0]
    const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : ''
    throw new UserError('WEIR_INVALID_JOB', `cannot compile ${jobPath}: ${where}${first?.text ?? (e as Error).message}`)
  }
  return {
    url: pathToFileURL(outfile).href,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  }
}

function externalPackages(): Plugin {
  return {
    name: 'weir-externals',
    setup(b) {
      // The package was called `weir` before it got a name of its own on npm (where `weir` is
      // another project's): say so instead of resolving an unrelated package.
      b.onResolve({ filter: /^weir$/ }, () => ({ errors: [{ text: "the package is named 'weir-stream': import from 'weir-stream', not 'weir'" }] }))
      b.onResolve({ filter: /^weir-stream$/ }, () => ({ path: RUNTIME_ENTRY, external: true }))
      // Bare package imports: resolve them where the job is, then keep them out of the bundle.
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'weir-resolving' || args.path.startsWith('node:')) return undefined
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'weir-resolving' })
        if (resolved.errors.length > 0) return { errors: resolved.errors }
        if (resolved.external) return { path: args.path, external: true }
        return { path: pathToFileURL(resolved.path).href, external: true }
      })
    },
  }
}
