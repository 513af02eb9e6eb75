// Starts a real Prometheus server (Debian's `prometheus`, installed by .ci/run) on loopback with
// its own config and data directory, scraping the given targets; stopped by PID.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WAIT_MS } from './deadlines.ts'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export class PrometheusServer {
  private constructor(private readonly child: ChildProcess, private readonly dir: string, readonly url: string, private readonly log: () => string) {}

  /** `targets`: host:port of /metrics endpoints on loopback; scraped every `interval`. */
  static async start(targets: string[], interval = '200ms'): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'weir-prometheus-'))
    const config = `global:\n  scrape_interval: ${interval}\n  scrape_timeout: ${interval}\nscrape_configs:\n  - job_name: weir\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`
    writeFileSync(join(dir, 'prometheus.yml'), config)
    const port = await freePort()
    let output = ''
    let child: ChildProcess
    try {
      child = spawn('prometheus', [
        `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
      ], { stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (e) {
      rmSync(dir, { recursive: true, force: true })
      throw e
    }
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null))
      child.once('error', (e) => resolve(e))
    })
    if (spawned) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`cannot start prometheus (${spawned.message}); install Debian's prometheus package (apt-get install prometheus), as .ci/run does`)
    }
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`, () => output)
    const deadline = Date.now() + WAIT_MS
    for (;;) {
      try {
        const r = await fetch(`${server.url}/-/ready`)
        if (r.ok) return server
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        await server.stop()
        throw new Error(`prometheus did not become ready: ${output}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Runs an instant query; the result vector. */
  async query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = (await r.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string }
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`)
    return body.data.result
  }

  /** The scrape targets' health as Prometheus sees them. */
  async targets(): Promise<Array<{ health: string; lastError: string; scrapeUrl: string }>> {
    const r = await fetch(`${this.url}/api/v1/targets`)
    const body = (await r.json()) as { data: { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> } }
    return body.data.activeTargets
  }

  get output(): string {
    return this.log()
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
      process.kill(this.child.pid!, 'SIGTERM')
      await exited
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}
