import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ExponentialDelayRestartStrategy, FailureRateRestartStrategy, FixedDelayRestartStrategy, NoRestartStrategy, createRestartStrategy,
  type RestartStrategy,
} from '../../../src/runtime/jobmanager/restart-strategy.ts'
import { Configuration, type RawConfig } from '../../../src/config/configuration.ts'

/** Records a failure at `now` and returns [canRestart, backoffMs]. */
function fail(s: RestartStrategy, now: number): [boolean, number] {
  s.notifyFailure(now)
  return [s.canRestart(), s.backoffMs()]
}

test('the none strategy never restarts and says why', () => {
  const s = new NoRestartStrategy()
  assert.equal(s.name, 'none')
  assert.equal(fail(s, 0)[0], false)
  assert.match(s.describeLimit(), /restart-strategy\.type is none/)
})

test('fixed-delay allows exactly `attempts` restarts, each after the delay', () => {
  const s = new FixedDelayRestartStrategy(3, 2500)
  assert.deepEqual(fail(s, 0), [true, 2500])
  assert.deepEqual(fail(s, 1), [true, 2500])
  assert.deepEqual(fail(s, 2), [true, 2500])
  assert.equal(fail(s, 3)[0], false)
  assert.equal(fail(s, 100_000)[0], false, 'time does not reset fixed-delay')
  assert.match(s.describeLimit(), /fixed-delay\.attempts \(3\)/)
})

test('fixed-delay with zero attempts never restarts', () => {
  assert.equal(fail(new FixedDelayRestartStrategy(0, 10), 0)[0], false)
})

test('failure-rate allows max failures within the interval and refuses one more', () => {
  const s = new FailureRateRestartStrategy(2, 1000, 300)
  assert.deepEqual(fail(s, 0), [true, 300])
  assert.deepEqual(fail(s, 500), [true, 300])
  assert.equal(fail(s, 900)[0], false)
  assert.match(s.describeLimit(), /more than 2 failure\(s\) within 1000 ms/)
})

test('failure-rate forgets failures once they leave the sliding interval', () => {
  const s = new FailureRateRestartStrategy(2, 1000, 0)
  assert.equal(fail(s, 0)[0], true)
  assert.equal(fail(s, 600)[0], true)
  // The failure at 0 is 1000 ms old: out of the window (now - interval, now].
  assert.equal(fail(s, 1000)[0], true)
  assert.equal(fail(s, 1500)[0], false, '600, 1000 and 1500 are within 1000 ms')
  assert.equal(fail(s, 3000)[0], true)
})

test('exponential-delay starts at the initial backoff and grows by the multiplier up to the max', () => {
  const s = new ExponentialDelayRestartStrategy(100, 1000, 2, 1_000_000, 0, 100)
  const backoffs: number[] = []
  for (let i = 0; i < 7; i++) backoffs.push(fail(s, i)[1])
  assert.deepEqual(backoffs, [100, 200, 400, 800, 1000, 1000, 1000])
})

test('exponential-delay with a fractional multiplier grows by that factor', () => {
  const s = new ExponentialDelayRestartStrategy(1000, 60_000, 1.5, 1_000_000, 0, 100)
  assert.deepEqual([fail(s, 0)[1], fail(s, 1)[1], fail(s, 2)[1]], [1000, 1500, 2250])
})

test('exponential-delay applies jitter within plus or minus the factor, from the injected random source', () => {
  let r = 0
  const s = new ExponentialDelayRestartStrategy(1000, 60_000, 2, 1_000_000, 0.1, 100, () => r)
  s.notifyFailure(0)
  r = 0
  assert.equal(s.backoffMs(), 900)
  r = 0.5
  assert.equal(s.backoffMs(), 1000)
  r = 0.999999
  assert.equal(s.backoffMs(), 1100)
  for (let i = 0; i < 50; i++) {
    r = i / 50
    const b = s.backoffMs()
    assert.ok(b >= 900 && b <= 1100, `backoff ${b} outside 1000 ± 10%`)
  }
})

test('exponential-delay resets to the initial backoff after running longer than the reset threshold', () => {
  const s = new ExponentialDelayRestartStrategy(100, 10_000, 2, 5000, 0, 100)
  assert.equal(fail(s, 0)[1], 100)
  assert.equal(fail(s, 1000)[1], 200)
  assert.equal(fail(s, 2000)[1], 400)
  // The threshold counts from the last failure, plus the backoff that followed it.
  assert.equal(fail(s, 2000 + 5000 + 400 - 1)[1], 800, 'just under threshold + backoff: still growing')
  assert.equal(fail(s, 7399 + 5000 + 800)[1], 100, 'threshold + backoff reached: reset')
})

test('exponential-delay stops after attempts-before-reset-backoff restarts, and a reset gives it new attempts', () => {
  const s = new ExponentialDelayRestartStrategy(100, 10_000, 2, 5000, 0, 2)
  assert.equal(fail(s, 0)[0], true)
  assert.equal(fail(s, 10)[0], true)
  assert.equal(fail(s, 20)[0], false)
  assert.match(s.describeLimit(), /attempts-before-reset-backoff \(2\)/)
  assert.equal(fail(s, 20 + 5000 + 400)[0], true, 'a long quiet period resets the attempts')
})

function create(raw: RawConfig): RestartStrategy {
  return createRestartStrategy(new Configuration(raw))
}

test('without a configured strategy: none without checkpointing, exponential-delay with an interval', () => {
  assert.equal(create({}).name, 'none')
  const s = create({ 'execution.checkpointing.interval': '10s' })
  assert.equal(s.name, 'exponential-delay')
  // Flink's defaults: initial 1 s, multiplier 1.5, max 1 min.
  const first = fail(s, 0)[1]
  assert.ok(first >= 900 && first <= 1100, `first backoff ${first}`)
  for (let i = 1; i < 30; i++) s.notifyFailure(i)
  assert.ok(s.backoffMs() <= 66_000 && s.backoffMs() >= 54_000, `capped near 60 s: ${s.backoffMs()}`)
  assert.equal(s.canRestart(), true)
})

test('an explicit type overrides the default, including none with checkpointing on', () => {
  assert.equal(create({ 'execution.checkpointing.interval': '1s', 'restart-strategy.type': 'none' }).name, 'none')
  assert.equal(create({ 'restart-strategy.type': 'fixeddelay' }).name, 'fixed-delay')
  assert.equal(create({ 'restart-strategy.type': 'disable' }).name, 'none')
})

test('fixed-delay reads its attempts and delay from the configuration, with Flink\'s defaults', () => {
  const s = create({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 2, 'restart-strategy.fixed-delay.delay': '3 s' })
  assert.deepEqual(fail(s, 0), [true, 3000])
  assert.deepEqual(fail(s, 0), [true, 3000])
  assert.equal(fail(s, 0)[0], false)
  const d = create({ 'restart-strategy.type': 'fixed-delay' })
  assert.deepEqual(fail(d, 0), [true, 1000])
  assert.equal(fail(d, 0)[0], false)
})

test('failure-rate reads max failures, interval and delay from the configuration', () => {
  const s = create({
    'restart-strategy.type': 'failure-rate', 'restart-strategy.failure-rate.max-failures-per-interval': 2,
    'restart-strategy.failure-rate.failure-rate-interval': '10 s', 'restart-strategy.failure-rate.delay': '250 ms',
  })
  assert.deepEqual(fail(s, 0), [true, 250])
  assert.deepEqual(fail(s, 5000), [true, 250])
  assert.equal(fail(s, 9000)[0], false)
  assert.equal(fail(s, 30_000)[0], true)
})

test('exponential-delay reads its options from the configuration', () => {
  const s = create({
    'restart-strategy.type': 'exponential-delay', 'restart-strategy.exponential-delay.initial-backoff': '10 ms',
    'restart-strategy.exponential-delay.max-backoff': '50 ms', 'restart-strategy.exponential-delay.backoff-multiplier': 3,
    'restart-strategy.exponential-delay.jitter-factor': 0, 'restart-strategy.exponential-delay.attempts-before-reset-backoff': 3,
    'restart-strategy.exponential-delay.reset-backoff-threshold': '1 min',
  })
  assert.deepEqual([fail(s, 0), fail(s, 1), fail(s, 2), fail(s, 3)], [[true, 10], [true, 30], [true, 50], [false, 50]])
  assert.equal(fail(s, 3 + 60_000 + 50)[1], 10)
})
