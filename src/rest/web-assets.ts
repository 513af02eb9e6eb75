// Serves the web UI's files (built by `npm run build` into dist/web with esbuild; see web/):
// index.html at /, everything else under /web/. Files are read once and kept in memory; the
// whole UI is a few hundred KiB. Nothing is fetched from elsewhere: the UI works offline.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { extname, join } from 'node:path'
import { PACKAGE_DIR } from '../package-layout.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.map': 'application/json',
}

export const DEFAULT_WEB_DIR = join(PACKAGE_DIR, 'dist', 'web')

export class WebAssets {
  private files: Map<string, Buffer> | null = null

  constructor(private readonly dir: string = DEFAULT_WEB_DIR) {}

  /** Answers the request if it names a UI file; false otherwise (the REST router takes it). */
  serve(pathname: string, res: ServerResponse): boolean {
    const files = this.load()
    const name = pathname === '/' || pathname === '/index.html' ? 'index.html' : pathname.slice('/web/'.length)
    const body = files.get(name)
    if (!body) {
      if (name !== 'index.html') return false
      const text = 'The Weir web UI is not built: run npm run build (the REST API is served here all the same, e.g. GET /jobs).\n'
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) })
      res.end(text)
      return true
    }
    res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' })
    res.end(body)
    return true
  }

  private load(): Map<string, Buffer> {
    if (this.files) return this.files
    const files = new Map<string, Buffer>()
    const walk = (dir: string, prefix: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) walk(path, `${prefix}${entry}/`)
        else files.set(`${prefix}${entry}`, readFileSync(path))
      }
    }
    if (existsSync(this.dir)) walk(this.dir, '')
    // Not cached while empty: a build may still produce the files.
    if (files.size > 0) this.files = files
    return files
  }
}
