import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import { slotThreadExecArgv, withoutProcessWideOptions, withoutTypeScriptHooks } from '../../../src/runtime/taskmanager/worker-exec-argv.ts'

test('threads of built code start without the TypeScript loader the process was started with, and keep every other flag', () => {
  assert.deepEqual(withoutTypeScriptHooks(['--import', 'tsx', '--max-old-space-size=512']), ['--max-old-space-size=512'])
  assert.deepEqual(withoutTypeScriptHooks(['--import=tsx', '--require', 'tsx/cjs', '--loader', 'tsx/esm']), [])
  assert.deepEqual(withoutTypeScriptHooks(['--import', './telemetry.mjs', '--enable-source-maps', '--import', 'tsx-like']), ['--import', './telemetry.mjs', '--enable-source-maps', '--import', 'tsx-like'])
})

test("V8's flags and process-wide options are left to the process, with their values; Node's own options reach the thread", () => {
  const given = [
    '--max-old-space-size=4096', '--max_semi_space_size', '16', '--single-threaded-gc', '--no-opt', '--expose-gc', '--stack-trace-limit=50',
    '--title', 'weir-tm', '--v8-pool-size=2', '--zero-fill-buffers',
    '--enable-source-maps', '--cpu-prof', '--cpu-prof-dir', '/tmp/profiles', '--conditions=development', '--trace-warnings', '--import', './telemetry.mjs',
  ]
  assert.deepEqual(withoutProcessWideOptions(given), ['--enable-source-maps', '--cpu-prof', '--cpu-prof-dir', '/tmp/profiles', '--conditions=development', '--trace-warnings', '--import', './telemetry.mjs'])
})

test('a worker starts with what is left of a process started with V8 flags and process-wide options (Node refuses them in a worker)', async () => {
  const given = ['--import', 'tsx', '--max-old-space-size=4096', '--single-threaded-gc', '--expose-gc', '--title=weir', '--enable-source-maps', '--no-warnings']
  assert.throws(() => new Worker('0', { eval: true, execArgv: withoutTypeScriptHooks(given) }), /invalid execArgv flags/, 'Node refuses the unfiltered options')
  const worker = new Worker('require("node:worker_threads").parentPort.postMessage(process.execArgv)', { eval: true, execArgv: slotThreadExecArgv(given) })
  const [execArgv] = (await once(worker, 'message')) as [string[]]
  assert.deepEqual(execArgv, ['--enable-source-maps', '--no-warnings'])
  await once(worker, 'exit')
})
