// The socket source cannot rewind, and says all that this loses: at start, a warning names the
// records read since the last completed checkpoint and those that arrive while the job is down;
// the README says the same (it used to name only the second, which understated the loss). What
// it connects to is the job's configuration, never what a checkpoint stored, so a job resumed
// from a savepoint with another --port reads the new port.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bundleJob } from '../../../src/cli/bundle.ts'
import { JobExecution } from '../../../src/runtime/jobmanager/mini-cluster.ts'
import { SocketTextSource, type SocketSplit } from '../../../src/connectors/socket/socket-source.ts'
import { InputStatus, type SourceReaderContext } from '../../../src/api/source.ts'
import { WAIT_MS } from '../../helpers/deadlines.ts'

test('a job with a socket source is warned at start that a failure loses what was read since the last checkpoint and what arrives while it is down', { timeout: 300_000 }, async () => {
  const server = createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (s) => sockets.add(s))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const artifact = await bundleJob(fileURLToPath(new URL('../../../examples/wordcount.ts', import.meta.url)))
  const logs: string[] = []
  try {
    const execution = await JobExecution.start({ artifactUrl: artifact.url, args: ['--host', '127.0.0.1', '--port', String(port)], config: { 'parallelism.default': 1 }, onLog: (l) => logs.push(l), onStdout: () => {} })
    await execution.cancel()
    await execution.result
  } finally {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
    artifact.dispose()
  }
  const warning = logs.find((l) => l.startsWith('Warning:'))
  assert.ok(warning, logs.join('\n'))
  assert.match(warning, /cannot rewind/)
  assert.match(warning, /records read since the last completed checkpoint/)
  assert.match(warning, /arrive while the job is down/)
})

test('the README says all that the socket source loses', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ')
  assert.match(readme, /socket source \(`socketTextStream`\) cannot rewind/)
  assert.match(readme, /every record read since the last completed checkpoint/)
  assert.match(readme, /the lines that arrive while the job is down or restarting/)
  assert.match(readme, /in the connection's buffers when it was reset/)
})

async function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port }
}

test('a reader given a split restored from a savepoint connects to the host and port of the resumed job, not the stored ones', async () => {
  let oldConnections = 0
  const old = await listen((s) => {
    oldConnections++
    s.end('from the old port\n')
  })
  const current = await listen((s) => s.end('from the new port\n'))
  let available: () => void = () => {}
  const ctx: SourceReaderContext = { subtaskIndex: 0, parallelism: 1, attemptNumber: 0, sendSplitRequest: () => {}, signalAvailable: () => available() }
  const reader = new SocketTextSource('127.0.0.1', current.port).createReader(ctx)
  try {
    reader.start()
    const stored: SocketSplit = { host: '127.0.0.1', port: old.port } // what the savepoint holds
    reader.addSplits([stored])
    const lines: string[] = []
    const deadline = Date.now() + WAIT_MS
    for (;;) {
      const status = reader.pollNext({ collect: (l: string) => lines.push(l) } as never)
      if (status === InputStatus.END_OF_INPUT) break
      assert.ok(Date.now() < deadline, 'the reader did not read to the end of the socket')
      if (status === InputStatus.NOTHING_AVAILABLE) await new Promise<void>((resolve) => (available = resolve))
    }
    assert.deepEqual(lines, ['from the new port'])
    assert.equal(oldConnections, 0)
    assert.deepEqual(reader.snapshotState(1), [{ host: '127.0.0.1', port: current.port }])
  } finally {
    reader.close()
    await Promise.all([old, current].map(({ server }) => new Promise((r) => server.close(r))))
  }
})
