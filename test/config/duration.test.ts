import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDuration } from '../../src/config/duration.ts'
import { UserError } from '../../src/errors.ts'

test('a bare number is a number of milliseconds', () => {
  assert.equal(parseDuration('300'), 300)
  assert.equal(parseDuration('0'), 0)
  assert.equal(parseDuration('  42  '), 42)
})

test('durations with units convert to milliseconds, with or without a space before the unit', () => {
  const cases: Array<[string, number]> = [
    ['300ms', 300],
    ['300 ms', 300],
    ['1s', 1000],
    ['1 s', 1000],
    ['2 sec', 2000],
    ['3 seconds', 3000],
    ['10 min', 600_000],
    ['10min', 600_000],
    ['1 m', 60_000],
    ['5 minutes', 300_000],
    ['2 h', 7_200_000],
    ['1 hour', 3_600_000],
    ['1 d', 86_400_000],
    ['2 days', 172_800_000],
    ['1.5s', 1500],
    ['0.5 min', 30_000],
    ['500 us', 0.5],
    ['2000000 ns', 2],
    ['1 milliseconds', 1],
  ]
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text)
})

test('units are case-insensitive', () => {
  assert.equal(parseDuration('1S'), 1000)
  assert.equal(parseDuration('10 MIN'), 600_000)
  assert.equal(parseDuration('300Ms'), 300)
})

test('an unknown unit is a WEIR_INVALID_CONFIG UserError naming the setting and the unit', () => {
  for (const text of ['10 weeks', '5 y', '1 fortnight', '3 mss']) {
    assert.throws(
      () => parseDuration(text, 'execution.buffer-timeout.interval'),
      (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_CONFIG'
        && e.message.includes('execution.buffer-timeout.interval') && e.message.includes(`'${text}'`) && /unknown time unit/.test(e.message),
      text,
    )
  }
})

test('garbage, negative numbers and empty text are WEIR_INVALID_CONFIG UserErrors naming the setting', () => {
  for (const text of ['', '   ', 'abc', 'ms', '-5s', '1s2', '1..5s', '1e3', '1,5s', '10 min extra', '.5s']) {
    assert.throws(
      () => parseDuration(text, 'my.key'),
      (e: unknown) => e instanceof UserError && e.code === 'WEIR_INVALID_CONFIG' && e.message.startsWith('my.key:'),
      JSON.stringify(text),
    )
  }
})

test('without a setting name the error still says what was wrong', () => {
  assert.throws(() => parseDuration('soon'), /duration: 'soon' is not a duration/)
})
