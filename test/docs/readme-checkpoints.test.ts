// The README's checkpoint example, run as written (its -D flags, read from the README) against a
// local server instead of `nc`: the job checkpoints while it runs, Ctrl-C (SIGINT) cancels it,
// the checkpoint is retained, and `weir checkpoints` lists it as COMPLETED.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/deadlines.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/weir.js')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** The -D flags of the README command that runs the word count with checkpoints. */
function readmeCheckpointFlags(): string[] {
  const section = readme.slice(readme.indexOf('## Checkpoints, recovery and savepoints'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block, 'the checkpoint section has a sh block')
  const command = block.replace(/\\\n/g, ' ').split('\n').find((l) => l.includes('weir run'))
  assert.ok(command, block)
  return [...command.matchAll(/-D (\S+)/g)].map((m) => m[1]!)
}

test("the README's checkpoint example checkpoints while it runs, and weir checkpoints lists the checkpoint retained after Ctrl-C", { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-readme-ckpt-'))
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    const timer = setInterval(() => socket.write('hello world\n'), 50)
    socket.on('close', () => clearInterval(timer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const flags = readmeCheckpointFlags().map((f) => f.replace('/tmp/ckpt', join(dir, 'ckpt')))
  assert.ok(flags.some((f) => f.startsWith('execution.checkpointing.interval=')), flags.join(' '))
  const child = spawn(process.execPath, [bin, 'run', '-D', 'rest.port=0', ...flags.flatMap((f) => ['-D', f]), join(root, 'examples/wordcount.ts'), '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' },
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    // Wait until a checkpoint of this job completed. Its _metadata alone does not say so: the
    // file is written before the checkpoint counts as completed, and one that the cancellation
    // overtakes in between is discarded. The next checkpoint's directory does: with one checkpoint
    // at a time (the default) the next is triggered only once the previous one has completed.
    const ckpt = join(dir, 'ckpt')
    const deadline = Date.now() + WAIT_MS
    const completed = () => existsSync(ckpt) && readdirSync(ckpt).some((job) => {
      const ids = readdirSync(join(ckpt, job)).filter((c) => c.startsWith('chk-')).map((c) => Number(c.slice(4)))
      return ids.some((id) => existsSync(join(ckpt, job, `chk-${id}`, '_metadata')) && ids.some((later) => later > id))
    })
    while (!completed()) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `no checkpoint completed; stderr:\n${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill('SIGINT')
    assert.equal(await exited, 130, stderr)
    assert.match(stderr, /checkpoints every 1000 ms to /)
    const listing = execFileSync(process.execPath, [bin, 'checkpoints', ckpt], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
    const rows = listing.trimEnd().split('\n')
    assert.match(rows[0]!, /^JOB\s+ID\s+COMPLETED\s+SIZE\s+DURATION\s+STATUS\s+PATH$/)
    // The README shows the same columns.
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    assert.ok(readme.split('\n').some((l) => l.split(/\s+/).join(' ') === rows[0]!.split(/\s+/).join(' ')), 'the README shows weir checkpoints\' header')
    assert.ok(rows.slice(1).some((r) => /\sCOMPLETED\s/.test(r)), listing)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
})
