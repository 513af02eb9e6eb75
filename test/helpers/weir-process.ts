// Runs `weir run` as a real process (the built CLI, bin/weir.js -> dist/) for kill -9 tests:
// start, wait for a condition, SIGKILL, resume. Children are killed by PID when the test file ends.

import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { WAIT_MS } from './deadlines.ts'

export const repo = fileURLToPath(new URL('../..', import.meta.url))

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface WeirProcess {
  readonly pid: number
  readonly exit: Promise<Exit>
  stderr(): string
  exited(): Exit | null
}

export class WeirProcesses {
  private readonly children = new Set<number>()
  readonly root = mkdtempSync(join(tmpdir(), 'weir-process-test-'))
  /** The CLI bundles jobs under os.tmpdir(); a killed CLI cannot remove its bundle, so give it this one. */
  private readonly childTmp = join(this.root, 'tmp')

  constructor() {
    mkdirSync(this.childTmp)
  }

  /** Builds dist/ if it is missing (the CLI runs from it). */
  ensureBuilt(): void {
    if (existsSync(join(repo, 'dist/cli/main.js'))) return
    const build = spawnSync('npm', ['run', 'build'], { cwd: repo, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`)
  }

  start(args: string[]): WeirProcess {
    const child = spawn(process.execPath, [join(repo, 'bin/weir.js'), ...args], { cwd: repo, env: { ...process.env, TMPDIR: this.childTmp }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.children.add(child.pid!)
    let stdout = ''
    let stderr = ''
    let done: Exit | null = null
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const exit = new Promise<Exit>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, signal) => {
        this.children.delete(child.pid!)
        done = { code, signal, stdout, stderr }
        resolve(done)
      })
    })
    return { pid: child.pid!, exit, stderr: () => stderr, exited: () => done }
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(proc: WeirProcess): Promise<Exit> {
    try {
      process.kill(proc.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    return proc.exit
  }

  stopAll(): void {
    for (const pid of this.children) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** Polls `probe` until it returns a value; fails if the process exits first or after the timeout. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, proc: WeirProcess, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    const exited = proc.exited()
    if (exited) throw new Error(`weir exited (${exited.code}) before ${what}:\n${exited.stderr}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr so far:\n${proc.stderr()}`)
    await sleep(20)
  }
}

/** Ids of completed checkpoints (with _metadata) under a checkpoints directory, all jobs. */
export function completedCheckpoints(checkpoints: string): Array<{ jobId: string; id: number }> {
  if (!existsSync(checkpoints)) return []
  const found: Array<{ jobId: string; id: number }> = []
  for (const jobId of readdirSync(checkpoints)) {
    let names: string[]
    try {
      names = readdirSync(join(checkpoints, jobId))
    } catch {
      continue
    }
    for (const name of names) {
      const m = /^chk-(\d+)$/.exec(name)
      if (m && existsSync(join(checkpoints, jobId, name, '_metadata'))) found.push({ jobId, id: Number(m[1]) })
    }
  }
  return found
}

/** The flags of a checkpointed `weir run` whose checkpoints survive a kill. */
export function checkpointedRun(checkpoints: string, p: number): string[] {
  // --no-typecheck: these runs test recovery, not the type check (test/cli/typecheck.test.ts
  // does), and checking the job costs seconds of CPU in every resumed process.
  return [
    'run', '--no-typecheck', '-p', String(p),
    '-D', 'execution.checkpointing.interval=100ms',
    '-D', `state.checkpoints.dir=${checkpoints}`,
    '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION',
    '-D', 'rest.port=0',
  ]
}
