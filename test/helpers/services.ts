// Starts the real servers the connector tests talk to (PostgreSQL, NATS JetStream, an S3-protocol
// server), each on loopback with its own data directory in a temp dir, and stops them by PID.
// A test file starts each server at most once (call it from `before`, stop it in `after`).
// Nothing is skipped: if a server cannot start, the call rejects saying why (missing binary:
// install it with `apt-get install postgresql nats-server`, as .ci/run does).
// `npm run services` (scripts/services.ts) starts the same for a developer.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { WAIT_MS } from './deadlines.ts'

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

async function waitFor(what: string, log: string, child: ChildProcess, ready: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; its log (${log}):\n${tail(log)}`)
    if (await ready().catch(() => false)) return
    if (Date.now() > until) throw new Error(`${what} was not ready after ${timeoutMs / 1000} s; its log (${log}):\n${tail(log)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n')
  } catch {
    return '(no log)'
  }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid, signal)
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
  }, 20_000)
  await exited
  clearTimeout(timer)
}

// ---------------------------------------------------------------- PostgreSQL

/** Where Debian puts the server binaries (not on PATH): the newest version installed. */
function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', name))).sort((a, b) => Number(b) - Number(a))
    if (versions.length > 0) return join(root, versions[0]!, 'bin', name)
  }
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (found) return found
  throw new Error(`PostgreSQL's ${name} was not found (looked in ${root}/*/bin and on PATH): install it with 'apt-get install postgresql'`)
}

export interface PostgresServer {
  readonly port: number
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string
  readonly dataDir: string
  readonly pid: number
  /** Stops the server (fast shutdown: open transactions end, prepared ones stay) and starts it again on the same data. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export interface PostgresOptions {
  /** max_prepared_transactions (default 64; 0 disables two-phase commit). */
  readonly maxPreparedTransactions?: number
  /** fsync (default off: tests need no durability across a machine crash; a benchmark may turn it on). */
  readonly fsync?: boolean
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const initdb = postgresBin('initdb')
  const postgres = postgresBin('postgres')
  const root = mkdtempSync(join(tmpdir(), 'weir-postgres-'))
  const dataDir = join(root, 'data')
  const log = join(root, 'server.log')
  // PostgreSQL refuses to run as root: run it as the postgres user then.
  const asUser = process.getuid?.() === 0 ? userIds('postgres') : null
  if (asUser) chownSync(root, asUser.uid, asUser.gid)
  const init = spawnSync(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { encoding: 'utf8', cwd: root, ...(asUser ?? {}) })
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout || init.error?.message}`)
  const port = await freePort()
  const args = ['-D', dataDir, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-k', root,
    '-c', `max_prepared_transactions=${options.maxPreparedTransactions ?? 64}`, '-c', `fsync=${options.fsync ? 'on' : 'off'}`,
    '-c', 'max_connections=200', '-c', 'log_min_messages=warning']
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let child: ChildProcess
  const start = async () => {
    const out = openSync(log, 'a')
    child = spawn(postgres, args, { cwd: root, stdio: ['ignore', out, out], ...(asUser ?? {}) })
    await waitFor('PostgreSQL', log, child, () => canConnect(url))
  }
  await start()
  const server = {
    port, url, dataDir,
    get pid() {
      return child.pid!
    },
    async restart() {
      await stopChild(child, 'SIGINT')
      await start()
    },
    async stop() {
      await stopChild(child, 'SIGINT')
      rmSync(root, { recursive: true, force: true })
    },
  }
  return server
}

function userIds(name: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`running as root, PostgreSQL needs the '${name}' user (created by 'apt-get install postgresql')`)
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
}

async function canConnect(url: string): Promise<boolean> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } finally {
    await client.end().catch(() => {})
  }
}

// ---------------------------------------------------------------- NATS JetStream

export interface NatsServer {
  readonly port: number
  /** nats://127.0.0.1:PORT */
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

export async function startNats(): Promise<NatsServer> {
  const found = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server /usr/bin/nats-server 2>/dev/null'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
  if (!found) throw new Error("nats-server was not found: install it with 'apt-get install nats-server'")
  const root = mkdtempSync(join(tmpdir(), 'weir-nats-'))
  const store = join(root, 'jetstream')
  mkdirSync(store)
  const log = join(root, 'server.log')
  const port = await freePort()
  const out = openSync(log, 'a')
  const child = spawn(found, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '--http_port', '0'], { cwd: root, stdio: ['ignore', out, out] })
  const url = `nats://127.0.0.1:${port}`
  await waitFor('nats-server', log, child, async () => {
    const { connect } = await import('@nats-io/transport-node')
    const nc = await connect({ servers: url, reconnect: false, timeout: 1000 })
    await nc.close()
    return true
  })
  return {
    port, url, pid: child.pid!,
    async stop() {
      await stopChild(child, 'SIGTERM')
      rmSync(root, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- S3 (s3rver, in a child process)

export interface S3Server {
  readonly port: number
  /** http://127.0.0.1:PORT */
  readonly endpoint: string
  readonly accessKey: string
  readonly secretKey: string
  readonly pid: number
  /** Creates a bucket. */
  createBucket(name: string): Promise<void>
  stop(): Promise<void>
}

/** s3rver (npm) in a process of its own, so that it does not share the test's thread. */
export async function startS3(): Promise<S3Server> {
  const root = mkdtempSync(join(tmpdir(), 'weir-s3-'))
  const log = join(root, 'server.log')
  const port = await freePort()
  const entry = pathToFileURL(createRequire(import.meta.url).resolve('s3rver')).href
  const code = `const { default: S3rver } = await import(${JSON.stringify(entry)}); await new S3rver({ address: '127.0.0.1', port: ${port}, silent: true, directory: ${JSON.stringify(join(root, 'data'))} }).run(); console.log('ready')`
  const out = openSync(log, 'a')
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', out, out] })
  const endpoint = `http://127.0.0.1:${port}`
  // s3rver's default credentials.
  const accessKey = 'S3RVER'
  const secretKey = 'S3RVER'
  await waitFor('s3rver', log, child, async () => readFileSync(log, 'utf8').includes('ready'))
  return {
    port, endpoint, accessKey, secretKey, pid: child.pid!,
    async createBucket(name) {
      const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3')
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } })
      await client.send(new CreateBucketCommand({ Bucket: name }))
      client.destroy()
    },
    async stop() {
      await stopChild(child, 'SIGTERM')
      rmSync(root, { recursive: true, force: true })
    },
  }
}
