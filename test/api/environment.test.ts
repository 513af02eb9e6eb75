import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StreamEnvironment } from '../../src/api/environment.ts'
import { readCheckpointOptions } from '../../src/checkpoint/checkpoint-options.ts'
import { isWeirError } from '../../src/errors.ts'

test('enableCheckpointing and the CheckpointConfig setters set the Flink configuration keys the runtime reads', () => {
  const env = new StreamEnvironment()
  env.enableCheckpointing(2000, 'AT_LEAST_ONCE')
  env.getCheckpointConfig()
    .setMinPauseBetweenCheckpoints(500)
    .setCheckpointTimeout(30_000)
    .setMaxConcurrentCheckpoints(2)
    .setTolerableCheckpointFailureNumber(3)
    .setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION')
    .enableUnalignedCheckpoints()
    .setCheckpointStorage('/tmp/weir-env-test')
  const o = readCheckpointOptions(env.config)
  assert.equal(o.intervalMs, 2000)
  assert.equal(o.exactlyOnce, false)
  assert.equal(o.minPauseMs, 500)
  assert.equal(o.timeoutMs, 30_000)
  assert.equal(o.maxConcurrent, 2)
  assert.equal(o.tolerableFailures, 3)
  assert.equal(o.retention, 'RETAIN_ON_CANCELLATION')
  assert.equal(o.unaligned, true)
  assert.equal(o.storage, 'filesystem')
  assert.equal(o.dir, '/tmp/weir-env-test')
})

test('an invalid checkpoint setting from the job fails naming the key', () => {
  const env = new StreamEnvironment()
  assert.throws(() => env.getCheckpointConfig().setMaxConcurrentCheckpoints(0), (e: unknown) => isWeirError(e) && e.message.includes('execution.checkpointing.max-concurrent-checkpoints'))
})

test('without a directory checkpoints go to the JobManager, and filesystem storage without one is refused', () => {
  const env = new StreamEnvironment()
  env.enableCheckpointing(1000)
  assert.equal(readCheckpointOptions(env.config).storage, 'jobmanager')
  env.config.setRaw('state.checkpoint-storage', 'filesystem')
  assert.throws(() => readCheckpointOptions(env.config), /execution.checkpointing.dir is not set/)
})
