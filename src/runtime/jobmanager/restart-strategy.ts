// Restart strategies with Flink's options and defaults: none, fixed-delay, failure-rate and
// exponential-delay. Each is told of every failure and answers whether the job may restart and
// after how long. Pure: time comes in as arguments, randomness from an injectable source.

import type { Configuration } from '../../config/configuration.ts'
import {
  CHECKPOINTING_INTERVAL, EXP_ATTEMPTS, EXP_INITIAL_BACKOFF, EXP_JITTER, EXP_MAX_BACKOFF, EXP_MULTIPLIER, EXP_RESET_THRESHOLD,
  FAILURE_RATE_DELAY, FAILURE_RATE_INTERVAL, FAILURE_RATE_MAX_FAILURES, FIXED_DELAY_ATTEMPTS, FIXED_DELAY_DELAY, RESTART_STRATEGY,
} from '../../config/options.ts'

export interface RestartStrategy {
  readonly name: string
  /** Records a failure at `now`; then canRestart / backoffMs describe what to do about it. */
  notifyFailure(now: number): void
  canRestart(): boolean
  backoffMs(): number
  /** Why the job may not restart, for the final error message. */
  describeLimit(): string
}

export class NoRestartStrategy implements RestartStrategy {
  readonly name = 'none'
  notifyFailure(): void {}
  canRestart(): boolean {
    return false
  }
  backoffMs(): number {
    return 0
  }
  describeLimit(): string {
    return 'restart-strategy.type is none (the default without checkpointing)'
  }
}

export class FixedDelayRestartStrategy implements RestartStrategy {
  readonly name = 'fixed-delay'
  private failures = 0
  constructor(private readonly attempts: number, private readonly delayMs: number) {}
  notifyFailure(): void {
    this.failures++
  }
  canRestart(): boolean {
    return this.failures <= this.attempts
  }
  backoffMs(): number {
    return this.delayMs
  }
  describeLimit(): string {
    return `restart-strategy.fixed-delay.attempts (${this.attempts}) reached`
  }
}

export class FailureRateRestartStrategy implements RestartStrategy {
  readonly name = 'failure-rate'
  private readonly failureTimes: number[] = []
  constructor(private readonly maxFailures: number, private readonly intervalMs: number, private readonly delayMs: number) {}
  notifyFailure(now: number): void {
    this.failureTimes.push(now)
    while (this.failureTimes.length > 0 && this.failureTimes[0]! <= now - this.intervalMs) this.failureTimes.shift()
  }
  canRestart(): boolean {
    return this.failureTimes.length <= this.maxFailures
  }
  backoffMs(): number {
    return this.delayMs
  }
  describeLimit(): string {
    return `more than ${this.maxFailures} failure(s) within ${this.intervalMs} ms (restart-strategy.failure-rate.*)`
  }
}

export class ExponentialDelayRestartStrategy implements RestartStrategy {
  readonly name = 'exponential-delay'
  private current: number
  private lastFailureAt = -Infinity
  private attemptsSinceReset = 0
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly multiplier: number,
    private readonly resetThresholdMs: number,
    private readonly jitter: number,
    private readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {
    this.current = 0
  }
  notifyFailure(now: number): void {
    if (now - this.lastFailureAt >= this.resetThresholdMs + this.current) {
      this.current = this.initialMs
      this.attemptsSinceReset = 0
    } else {
      this.current = Math.min(this.maxMs, this.current * this.multiplier)
    }
    this.attemptsSinceReset++
    this.lastFailureAt = now
  }
  canRestart(): boolean {
    return this.attemptsSinceReset <= this.maxAttempts
  }
  backoffMs(): number {
    const spread = this.current * this.jitter
    // Jitter never takes the wait past max-backoff, as in Flink.
    return Math.min(this.maxMs, Math.max(0, Math.round(this.current + (this.random() * 2 - 1) * spread)))
  }
  describeLimit(): string {
    return `restart-strategy.exponential-delay.attempts-before-reset-backoff (${this.maxAttempts}) reached`
  }
}

/** The configured strategy; without one: none, or exponential-delay when checkpointing is on (Flink's defaults). */
export function createRestartStrategy(config: Configuration): RestartStrategy {
  const type = config.get(RESTART_STRATEGY) ?? (config.get(CHECKPOINTING_INTERVAL) !== null ? 'exponential-delay' : 'none')
  switch (type) {
    case 'none':
    case 'off':
    case 'disable':
      return new NoRestartStrategy()
    case 'fixed-delay':
    case 'fixeddelay':
      return new FixedDelayRestartStrategy(config.get(FIXED_DELAY_ATTEMPTS), config.get(FIXED_DELAY_DELAY) ?? 1000)
    case 'failure-rate':
    case 'failurerate':
      return new FailureRateRestartStrategy(config.get(FAILURE_RATE_MAX_FAILURES), config.get(FAILURE_RATE_INTERVAL) ?? 60_000, config.get(FAILURE_RATE_DELAY) ?? 1000)
    case 'exponential-delay':
    case 'exponentialdelay':
      return new ExponentialDelayRestartStrategy(
        config.get(EXP_INITIAL_BACKOFF) ?? 1000, config.get(EXP_MAX_BACKOFF) ?? 60_000, config.get(EXP_MULTIPLIER),
        config.get(EXP_RESET_THRESHOLD) ?? 3_600_000, config.get(EXP_JITTER), config.get(EXP_ATTEMPTS),
      )
  }
}
