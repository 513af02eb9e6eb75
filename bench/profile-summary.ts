// Prints the functions with the most self time in a V8 .cpuprofile (as written by
// node --cpu-prof, e.g. by `npm run bench -- --cpu-prof`), with file:line. Locations in
// dist/*.js are mapped back to src/*.ts through their source maps when those exist.
//
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--no-map]

import { existsSync, readFileSync } from 'node:fs'
import { SourceMap, type SourceMapPayload } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

interface CallFrame {
  functionName: string
  url: string
  /** 0-based */
  lineNumber: number
  /** 0-based */
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  /** Microseconds since the previous sample. */
  timeDeltas: number[]
}

const args = process.argv.slice(2)
let top = 25
let map = true
const files: string[] = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]!
  if (a === '--top') top = Number(args[++i])
  else if (a === '--no-map') map = false
  else files.push(a)
}
if (files.length === 0 || !Number.isInteger(top) || top < 1) {
  console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [FILE...] [--top N] [--no-map]')
  process.exit(2)
}

const sourceMaps = new Map<string, SourceMap | null>()

/** The source map of a file: url, read from FILE.map or an inline data: URL. */
function sourceMapOf(url: string): SourceMap | null {
  if (sourceMaps.has(url)) return sourceMaps.get(url)!
  let sm: SourceMap | null = null
  try {
    const path = fileURLToPath(url)
    let payload: SourceMapPayload | null = null
    if (existsSync(`${path}.map`)) {
      payload = JSON.parse(readFileSync(`${path}.map`, 'utf8')) as SourceMapPayload
    } else if (existsSync(path)) {
      const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(readFileSync(path, 'utf8'))
      if (m) payload = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as SourceMapPayload
    }
    if (payload) {
      const dir = dirname(path)
      const root = payload.sourceRoot ?? ''
      payload = { ...payload, sources: payload.sources.map((s) => resolve(dir, root, s)) }
      sm = new SourceMap(payload)
    }
  } catch {
    sm = null
  }
  sourceMaps.set(url, sm)
  return sm
}

function location(frame: CallFrame): string {
  const { url, lineNumber, columnNumber } = frame
  if (url === '') return ''
  if (map && url.startsWith('file:')) {
    const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      return `${shorten(entry.originalSource)}:${entry.originalLine + 1}`
    }
  }
  return `${shorten(url)}:${lineNumber + 1}`
}

function shorten(file: string): string {
  const path = file.startsWith('file:') ? fileURLToPath(file) : file
  if (!path.startsWith('/')) return path
  const rel = relative(process.cwd(), path)
  return rel.startsWith('..') ? path : rel
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt)
    total += dt
  }
  // One row per function (the same function appears under many call paths).
  const rows = new Map<string, { name: string; where: string; us: number }>()
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}|${frame.columnNumber}`
    const row = rows.get(key)
    if (row) row.us += us
    else rows.set(key, { name: frame.functionName || '(anonymous)', where: location(frame), us })
  }
  const idle = [...rows.values()].filter((r) => r.name === '(idle)').reduce((a, r) => a + r.us, 0)
  const sorted = [...rows.values()].sort((a, b) => b.us - a.us).slice(0, top)
  console.log(`${file}`)
  console.log(`  ${profile.samples.length} samples, ${(total / 1000).toFixed(0)} ms sampled, ${(idle / 1000).toFixed(0)} ms idle; % of non-idle time`)
  console.log(`  ${'self ms'.padStart(8)}  ${'%'.padStart(5)}  function  (file:line)`)
  for (const r of sorted) {
    const pct = r.name === '(idle)' ? '' : ((100 * r.us) / Math.max(1, total - idle)).toFixed(1)
    console.log(`  ${(r.us / 1000).toFixed(1).padStart(8)}  ${pct.padStart(5)}  ${r.name}${r.where ? `  (${r.where})` : ''}`)
  }
  console.log('')
}
