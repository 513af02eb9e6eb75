import { test } from 'node:test'
import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { Configuration, canonicalKey, normalizeKeys, parseDynamicProperty } from '../../src/config/configuration.ts'
import {
  PARALLELISM_DEFAULT, MAX_PARALLELISM, OBJECT_REUSE, OPERATOR_CHAINING, BUFFER_TIMEOUT, NETWORK_BATCH_RECORDS,
  NETWORK_CREDITS, TASK_SLOTS, REST_PORT, CHECKPOINTS_DIR, SAVEPOINTS_DIR, CHECKPOINTS_NUM_RETAINED, CHECKPOINT_STORAGE,
  STATE_BACKEND_INCREMENTAL, STATE_BACKEND, CHECKPOINTING_UNALIGNED, CHECKPOINTING_ALIGNED_TIMEOUT, RESTART_STRATEGY,
  type ConfigOption,
} from '../../src/config/options.ts'
import { UserError } from '../../src/errors.ts'

const isConfigError = (re: RegExp) => (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_CONFIG' && re.test(e.message)

test('defaults apply when nothing is set', () => {
  const c = new Configuration()
  assert.equal(c.get(PARALLELISM_DEFAULT), availableParallelism())
  assert.equal(c.get(MAX_PARALLELISM), -1)
  assert.equal(c.get(OBJECT_REUSE), false)
  assert.equal(c.get(OPERATOR_CHAINING), true)
  assert.equal(c.get(BUFFER_TIMEOUT), 100)
  assert.equal(c.get(NETWORK_BATCH_RECORDS), 1024)
  assert.equal(c.get(NETWORK_CREDITS), 4)
  assert.equal(c.get(TASK_SLOTS), -1)
  assert.equal(c.get(REST_PORT), 8081)
  assert.equal(c.has(PARALLELISM_DEFAULT), false)
  assert.deepEqual(c.toRaw(), {})
})

test('raw values are parsed into typed values', () => {
  const c = new Configuration({
    'parallelism.default': '4',
    'pipeline.max-parallelism': 256,
    'pipeline.operator-chaining.enabled': 'false',
    'pipeline.object-reuse': true,
    'execution.buffer-timeout.interval': '2 s',
    'taskmanager.network.batch-records': ' 64 ',
  })
  assert.equal(c.get(PARALLELISM_DEFAULT), 4)
  assert.equal(c.get(MAX_PARALLELISM), 256)
  assert.equal(c.get(OPERATOR_CHAINING), false)
  assert.equal(c.get(OBJECT_REUSE), true)
  assert.equal(c.get(BUFFER_TIMEOUT), 2000)
  assert.equal(c.get(NETWORK_BATCH_RECORDS), 64)
  assert.equal(c.has(PARALLELISM_DEFAULT), true)
  assert.equal(c.has(REST_PORT), false)
})

test('toRaw returns the pairs as given, and a copy', () => {
  const c = new Configuration({ 'parallelism.default': '4' })
  c.set(REST_PORT, 9000)
  const raw = c.toRaw()
  assert.deepEqual(raw, { 'parallelism.default': '4', 'rest.port': 9000 })
  raw['rest.port'] = 1
  assert.equal(c.toRaw()['rest.port'], 9000)
  // A configuration rebuilt from the raw pairs reads the same.
  const again = new Configuration(c.toRaw())
  assert.equal(again.get(PARALLELISM_DEFAULT), 4)
  assert.equal(again.get(REST_PORT), 9000)
})

test('set overrides a value set earlier', () => {
  const c = new Configuration({ 'parallelism.default': '4' })
  c.set(PARALLELISM_DEFAULT, 8)
  assert.equal(c.get(PARALLELISM_DEFAULT), 8)
  c.setRaw('parallelism.default', '2')
  assert.equal(c.get(PARALLELISM_DEFAULT), 2)
})

test('an unknown key is rejected with a message that names it', () => {
  assert.throws(() => new Configuration({ 'no.such.key': '1' }), isConfigError(/unknown configuration key 'no\.such\.key'/))
  assert.throws(() => new Configuration().setRaw('parallelism', 3), isConfigError(/'parallelism'/))
})

test('a misspelled key gets suggestions of known keys', () => {
  assert.throws(() => new Configuration({ 'parallelism.defualt': '2' }), isConfigError(/'parallelism\.defualt'.*did you mean .*parallelism\.default/))
})

test('invalid ints are rejected naming the key and the value', () => {
  for (const bad of ['abc', '1.5', '', '4x', '1e3', true]) {
    assert.throws(() => new Configuration({ 'parallelism.default': bad }), isConfigError(/invalid value for parallelism\.default: '.*' \(expected an integer\)/), String(bad))
  }
  assert.throws(() => new Configuration({ 'parallelism.default': 2.5 }), isConfigError(/parallelism\.default/))
})

test('ints out of range are rejected naming the key and the bounds', () => {
  assert.throws(() => new Configuration({ 'parallelism.default': '0' }), isConfigError(/parallelism\.default: '0' \(expected an integer between 1 and 32768\)/))
  assert.throws(() => new Configuration({ 'rest.port': 70000 }), isConfigError(/rest\.port.*between 0 and 65535/))
  assert.throws(() => new Configuration({ 'pipeline.max-parallelism': '-2' }), isConfigError(/pipeline\.max-parallelism/))
})

test('invalid booleans and durations are rejected naming the key', () => {
  assert.throws(() => new Configuration({ 'pipeline.object-reuse': 'yes' }), isConfigError(/pipeline\.object-reuse: 'yes' \(expected true or false\)/))
  assert.throws(() => new Configuration({ 'pipeline.operator-chaining.enabled': 1 }), isConfigError(/pipeline\.operator-chaining\.enabled/))
  assert.throws(() => new Configuration({ 'execution.buffer-timeout.interval': '10 parsecs' }), isConfigError(/execution\.buffer-timeout\.interval/))
  assert.throws(() => new Configuration({ 'execution.buffer-timeout.interval': true }), isConfigError(/execution\.buffer-timeout\.interval/))
  assert.throws(() => new Configuration({ 'execution.buffer-timeout.interval': -1 }), isConfigError(/execution\.buffer-timeout\.interval/))
})

test('a failed setRaw leaves the configuration unchanged', () => {
  const c = new Configuration({ 'parallelism.default': '3' })
  assert.throws(() => c.setRaw('parallelism.default', 'many'))
  assert.equal(c.get(PARALLELISM_DEFAULT), 3)
  assert.deepEqual(c.toRaw(), { 'parallelism.default': '3' })
})

test('parseDynamicProperty splits key=value at the first = and trims both sides', () => {
  assert.deepEqual(parseDynamicProperty('a=b'), ['a', 'b'])
  assert.deepEqual(parseDynamicProperty('parallelism.default=4'), ['parallelism.default', '4'])
  assert.deepEqual(parseDynamicProperty(' k = v '), ['k', 'v'])
  assert.deepEqual(parseDynamicProperty('k=a=b'), ['k', 'a=b'])
  assert.deepEqual(parseDynamicProperty('k='), ['k', ''])
})

test('parseDynamicProperty rejects a missing key or a missing =', () => {
  assert.throws(() => parseDynamicProperty('=b'), isConfigError(/-D expects key=value, got '=b'/))
  assert.throws(() => parseDynamicProperty('novalue'), isConfigError(/-D expects key=value, got 'novalue'/))
  assert.throws(() => parseDynamicProperty(''), isConfigError(/-D expects key=value/))
  // A key of only blanks is no key.
  assert.throws(() => parseDynamicProperty('  =b'), isConfigError(/-D expects key=value, got '  =b'/))
})

test('Flink 1.x names are fallback keys of the Flink 2 names: either sets the option, stored under the Flink 2 name', () => {
  const pairs: Array<[string, string, unknown, ConfigOption<unknown>]> = [
    ['state.checkpoints.dir', '/tmp/c', '/tmp/c', CHECKPOINTS_DIR],
    ['state.savepoints.dir', '/tmp/s', '/tmp/s', SAVEPOINTS_DIR],
    ['state.checkpoints.num-retained', '3', 3, CHECKPOINTS_NUM_RETAINED],
    ['state.checkpoint-storage', 'filesystem', 'filesystem', CHECKPOINT_STORAGE],
    ['state.backend.incremental', 'true', true, STATE_BACKEND_INCREMENTAL],
    ['state.backend', 'lmdb', 'lmdb', STATE_BACKEND],
    ['execution.checkpointing.unaligned', 'true', true, CHECKPOINTING_UNALIGNED],
    ['execution.checkpointing.alignment-timeout', '2s', 2000, CHECKPOINTING_ALIGNED_TIMEOUT],
    ['execution.buffer-timeout', '5ms', 5, BUFFER_TIMEOUT],
    ['restart-strategy', 'fixed-delay', 'fixed-delay', RESTART_STRATEGY],
  ]
  for (const [oldKey, text, value, option] of pairs) {
    assert.ok(option.fallbackKeys.includes(oldKey), oldKey)
    const c = new Configuration({ [oldKey]: text })
    assert.deepEqual(c.get(option), value, oldKey)
    assert.deepEqual(c.toRaw(), { [option.key]: text })
    assert.equal(canonicalKey(oldKey), option.key)
  }
  assert.equal(CHECKPOINTS_DIR.key, 'execution.checkpointing.dir')
  assert.equal(SAVEPOINTS_DIR.key, 'execution.checkpointing.savepoint-dir')
  assert.equal(STATE_BACKEND_INCREMENTAL.key, 'execution.checkpointing.incremental')
  assert.equal(CHECKPOINTS_NUM_RETAINED.key, 'execution.checkpointing.num-retained')
})

test('in one layer the Flink 2 name wins over the 1.x name whatever the order; a later set wins whichever name it uses', () => {
  for (const raw of [
    { 'state.checkpoints.dir': '/old', 'execution.checkpointing.dir': '/new' },
    { 'execution.checkpointing.dir': '/new', 'state.checkpoints.dir': '/old' },
  ]) {
    assert.equal(new Configuration(raw).get(CHECKPOINTS_DIR), '/new')
    assert.deepEqual(normalizeKeys(raw), { 'execution.checkpointing.dir': '/new' })
  }
  const c = new Configuration({ 'execution.checkpointing.dir': '/a' })
  c.setRaw('state.checkpoints.dir', '/b')
  assert.equal(c.get(CHECKPOINTS_DIR), '/b')
})

test('an invalid value given by a 1.x name names the Flink 2 key and the name it was given as', () => {
  assert.throws(() => new Configuration({ 'state.checkpoints.num-retained': 'x' }), isConfigError(/^invalid value for execution\.checkpointing\.num-retained: 'x' \(expected an integer\) \(given as state\.checkpoints\.num-retained\)$/))
})

test('pipeline.max-parallelism accepts -1 (derive) and 1..32768 but not 0, as Flink', () => {
  assert.throws(() => new Configuration({ 'pipeline.max-parallelism': '0' }), isConfigError(/invalid value for pipeline\.max-parallelism: '0' \(expected an integer between 1 and 32768, or -1 to derive it\)/))
  assert.throws(() => new Configuration({ 'pipeline.max-parallelism': '32769' }), isConfigError(/pipeline\.max-parallelism/))
  assert.equal(new Configuration({ 'pipeline.max-parallelism': '-1' }).get(MAX_PARALLELISM), -1)
  assert.equal(new Configuration({ 'pipeline.max-parallelism': '32768' }).get(MAX_PARALLELISM), 32768)
})
