import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readConfigFile, readDefaultConfigFile } from '../../src/config/config-file.ts'
import { Configuration } from '../../src/config/configuration.ts'
import { PARALLELISM_DEFAULT, BUFFER_TIMEOUT, OPERATOR_CHAINING } from '../../src/config/options.ts'
import { UserError } from '../../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'weir-config-file-test-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(text: string): string {
  const path = join(dir, `config-${n++}.yaml`)
  writeFileSync(path, text)
  return path
}

const isConfigError = (re: RegExp) => (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_CONFIG' && re.test(e.message)

test('flat dotted keys are read as they are, with their YAML types', () => {
  const path = file('parallelism.default: 4\nexecution.buffer-timeout.interval: 10s\npipeline.operator-chaining.enabled: false\n')
  assert.deepEqual(readConfigFile(path), {
    'parallelism.default': 4,
    'execution.buffer-timeout.interval': '10s',
    'pipeline.operator-chaining.enabled': false,
  })
})

test('nested maps are joined with dots', () => {
  const path = file([
    'parallelism:',
    '  default: 3',
    'execution:',
    '  buffer-timeout:',
    '    interval: 250 ms',
    'pipeline.operator-chaining:',
    '  enabled: true',
  ].join('\n'))
  assert.deepEqual(readConfigFile(path), {
    'parallelism.default': 3,
    'execution.buffer-timeout.interval': '250 ms',
    'pipeline.operator-chaining.enabled': true,
  })
})

test('the pairs read from a file configure a Configuration', () => {
  const c = new Configuration(readConfigFile(file('parallelism:\n  default: 5\nexecution.buffer-timeout.interval: 1 min\n')))
  assert.equal(c.get(PARALLELISM_DEFAULT), 5)
  assert.equal(c.get(BUFFER_TIMEOUT), 60_000)
  assert.equal(c.get(OPERATOR_CHAINING), true)
})

test('an empty file or a file of comments is an empty configuration', () => {
  assert.deepEqual(readConfigFile(file('')), {})
  assert.deepEqual(readConfigFile(file('# nothing here\n')), {})
})

test('invalid YAML is a WEIR_INVALID_CONFIG error naming the file', () => {
  const path = file('parallelism.default: [1, 2\n  bad: : :\n')
  assert.throws(() => readConfigFile(path), isConfigError(new RegExp(`${escape(path)} is not valid YAML: .+`)))
})

test('a document that is not a map is rejected naming the file', () => {
  for (const text of ['- a\n- b\n', 'just a string\n', '42\n']) {
    const path = file(text)
    assert.throws(() => readConfigFile(path), isConfigError(new RegExp(`${escape(path)} must hold a map of configuration keys`)), text)
  }
})

test('values that are lists or null are rejected naming the file and the key', () => {
  const list = file('pipeline:\n  names: [a, b]\n')
  assert.throws(() => readConfigFile(list), isConfigError(new RegExp(`${escape(list)}: the value of pipeline\\.names must be a string, number or boolean`)))
  const empty = file('rest.port:\n')
  assert.throws(() => readConfigFile(empty), isConfigError(/the value of rest\.port must be/))
})

test('a value of the wrong type for its option is rejected by the Configuration, naming the key', () => {
  const raw = readConfigFile(file('parallelism:\n  default: lots\npipeline.object-reuse: 1\n'))
  assert.deepEqual(raw, { 'parallelism.default': 'lots', 'pipeline.object-reuse': 1 })
  assert.throws(() => new Configuration(raw), isConfigError(/parallelism\.default: 'lots'/))
  assert.throws(() => new Configuration({ 'pipeline.object-reuse': raw['pipeline.object-reuse']! }), isConfigError(/pipeline\.object-reuse/))
})

test('a missing file is a WEIR_INVALID_CONFIG error naming the path and the reason', () => {
  const path = join(dir, 'missing.yaml')
  assert.throws(() => readConfigFile(path), isConfigError(new RegExp(`cannot read config file ${escape(path)}: ENOENT`)))
})

test('readDefaultConfigFile reads weir.yaml in the given directory, and nothing when there is none', () => {
  const cwd = join(dir, 'project')
  mkdirSync(cwd)
  assert.deepEqual(readDefaultConfigFile(cwd), {})
  writeFileSync(join(cwd, 'weir.yaml'), 'rest:\n  port: 9091\n')
  assert.deepEqual(readDefaultConfigFile(cwd), { 'rest.port': 9091 })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
