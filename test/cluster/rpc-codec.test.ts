// The control plane's frames and messages: what is refused and why, and that a JobManager
// given garbage closes that connection with a logged reason and keeps serving.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { RpcDecoder, RpcFrameError, encodeRpcFrame } from '../../src/cluster/rpc-codec.ts'
import { validateJobManagerMessage, validateTaskManagerMessage } from '../../src/cluster/rpc-messages.ts'
import { JobManagerProcess } from '../../src/cluster/job-manager.ts'
import { TaskManagerProcess } from '../../src/cluster/task-manager-process.ts'
import { Configuration } from '../../src/config/configuration.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

test('messages survive any split of the stream, with bytes and maps intact', () => {
  const sent = [{ type: 'heartbeat' }, { type: 'deploy', jobId: 'a'.repeat(32), artifact: Uint8Array.of(1, 2, 3), deployment: { attemptId: 'x/0', slots: [], locations: [] } }, { type: 'x', m: new Map([[1, 'one']]) }]
  const stream = Buffer.concat(sent.map(encodeRpcFrame))
  for (const step of [1, 3, 7, stream.length]) {
    const got: unknown[] = []
    const d = new RpcDecoder((m) => got.push(m))
    for (let i = 0; i < stream.length; i += step) d.push(stream.subarray(i, i + step))
    d.end()
    assert.deepEqual(got, sent)
  }
})

test('foreign, wrong-version, oversized, malformed and truncated frames are refused with their reason', () => {
  const frame = () => encodeRpcFrame({ type: 'heartbeat' })
  const cases: Array<[string, Buffer, RegExp, number?]> = [
    ['foreign', Buffer.from('GET / HTTP/1.1\r\n\r\n'), /not a Weir RPC frame/],
    ['wrong version', (() => { const f = frame(); f[5] = 7; return f })(), /version 7; this process speaks version 1/],
    ['oversized', (() => { const f = frame(); f.writeUInt32LE(1 << 30, 0); return f })(), /oversized RPC frame/],
    ['malformed length', (() => { const f = frame(); f.writeUInt32LE(1, 0); return f })(), /malformed RPC frame/],
    ['malformed payload', Buffer.from([3, 0, 0, 0, 0x52, 1, 0xc1]), /malformed RPC payload/],
  ]
  for (const [name, bytes, reason] of cases) {
    const d = new RpcDecoder(() => {})
    assert.throws(() => d.push(bytes), (e: Error) => e instanceof RpcFrameError && reason.test(e.message), name)
    assert.throws(() => d.push(frame()), RpcFrameError, `${name}: the decoder stays failed`)
  }
  const d = new RpcDecoder(() => {})
  d.push(frame().subarray(0, 5))
  assert.throws(() => d.end(), /truncated frame/)
})

test('messages of an unknown type or with a wrong field are refused naming the field', () => {
  assert.throws(() => validateTaskManagerMessage({ type: 'launch-missiles' }), /unknown TaskManager message type 'launch-missiles'/)
  assert.throws(() => validateTaskManagerMessage({ type: 'register', taskManagerId: 'tm', numSlots: -1, host: 'h', dataPort: 0, pid: 1 }), /'numSlots' must be a non-negative integer/)
  assert.throws(() => validateTaskManagerMessage({ type: 'slot-message', attemptId: 'a/0', slot: 0, message: { type: 'rm -rf' } }), /'message' must be a message of a known type/)
  assert.throws(() => validateJobManagerMessage({ type: 'deploy', jobId: 'j', artifact: 'not bytes', deployment: {} }), /'artifact' must be bytes/)
  assert.throws(() => validateJobManagerMessage([1, 2]), /not an object/)
  assert.deepEqual(validateTaskManagerMessage({ type: 'heartbeat' }), { type: 'heartbeat' })
})

test('a JobManager closes a connection that sends garbage, logs why, and still registers TaskManagers', { timeout: TEST_TIMEOUT_MS }, async () => {
  const logs: string[] = []
  const jm = await JobManagerProcess.start(new Configuration({ 'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.rpc.port': 0, 'rest.port': 0 }), (l) => logs.push(l))
  try {
    for (const garbage of [Buffer.from('hello?\n'), encodeRpcFrame({ type: 'heartbeat' }), encodeRpcFrame({ type: 'register', taskManagerId: 7 })]) {
      const s = connect({ host: '127.0.0.1', port: jm.rpcAddress.port })
      s.on('error', () => {})
      s.resume()
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve())
        s.write(garbage)
      })
    }
    assert.equal(logs.filter((l) => /RPC: closed the connection from/.test(l)).length, 3)
    assert.ok(logs.some((l) => /not a Weir RPC frame/.test(l)))
    assert.ok(logs.some((l) => /expected 'register'/.test(l)))
    assert.ok(logs.some((l) => /'taskManagerId' must be a non-empty string/.test(l)))
    const tm = await TaskManagerProcess.start(new Configuration({ 'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.rpc.port': jm.rpcAddress.port }), () => {})
    assert.equal(jm.taskManagers.size, 1)
    await tm.close()
  } finally {
    await jm.close()
  }
})

test('a TaskManager that stops sending heartbeats is lost after heartbeat.timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
  const logs: string[] = []
  const jm = await JobManagerProcess.start(new Configuration({ 'jobmanager.rpc.address': '127.0.0.1', 'jobmanager.rpc.port': 0, 'rest.port': 0, 'heartbeat.interval': '50ms', 'heartbeat.timeout': '300ms' }), (l) => logs.push(l))
  try {
    // A TaskManager that registers and then falls silent.
    const s = connect({ host: '127.0.0.1', port: jm.rpcAddress.port })
    s.on('error', () => {})
    s.resume()
    s.write(encodeRpcFrame({ type: 'register', taskManagerId: 'silent', numSlots: 1, host: '127.0.0.1', dataPort: 0, pid: 1 }))
    while (jm.taskManagers.size === 0) await new Promise((r) => setTimeout(r, 10))
    await new Promise<void>((resolve) => s.once('close', () => resolve()))
    assert.equal(jm.taskManagers.size, 0)
    assert.ok(logs.some((l) => /TaskManager silent lost: no heartbeat for \d+ ms \(heartbeat.timeout 300 ms\)/.test(l)), logs.join('\n'))
  } finally {
    await jm.close()
  }
})
