// Log formats and levels: JSON lines with fields, the human format keeps the messages' wording.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLogger, formatHuman, resolveLogFormat, resolveLogLevel } from '../../src/logging/logger.ts'

test('JSON lines carry level, time, message and fields; the level filters', () => {
  const lines: string[] = []
  const log = createLogger({ format: 'json', level: 'info', isTerminal: true, write: (t) => lines.push(t) })
  log.debug('hidden')
  log.warn({ jobId: 'abc', attempt: 1, subtask: 0 }, "Warning: source 'x' cannot rewind")
  assert.equal(lines.length, 1)
  assert.ok(lines[0]!.endsWith('\n'))
  const o = JSON.parse(lines[0]!)
  assert.equal(o.level, 40)
  assert.equal(o.msg, "Warning: source 'x' cannot rewind")
  assert.deepEqual([o.jobId, o.attempt, o.subtask], ['abc', 1, 0])
  assert.equal(typeof o.time, 'number')
})

test('the human format prints messages as they always were; debug lines with level and fields', () => {
  const lines: string[] = []
  const log = createLogger({ level: 'debug', isTerminal: true, write: (t) => lines.push(t) })
  log.info({ jobId: 'abc' }, 'REST API at http://127.0.0.1:8081')
  log.debug({ attempt: 0, subtask: 1 }, 'Map (2/2)#0 switched from INITIALIZING to RUNNING')
  assert.deepEqual(lines, ['REST API at http://127.0.0.1:8081\n', '[debug] Map (2/2)#0 switched from INITIALIZING to RUNNING  attempt=0 subtask=1\n'])
  assert.equal(formatHuman('not json'), 'not json')
})

test('the default format follows the terminal; bad formats and levels are refused naming the option', () => {
  assert.equal(resolveLogFormat(undefined, true), 'human')
  assert.equal(resolveLogFormat(undefined, false), 'json')
  assert.equal(resolveLogFormat('human', false), 'human')
  assert.throws(() => resolveLogFormat('xml', true), /--log-format expects json or human, got 'xml'/)
  assert.equal(resolveLogLevel('WARN'), 'warn')
  assert.throws(() => resolveLogLevel('loud'), /--log-level expects one of trace, debug, info, warn, error, fatal, silent, got 'loud'/)
})
