// When the next periodic checkpoint may start, as a pure decision over the coordinator's
// facts: the interval since the last trigger, the min pause since the last completion, and
// the number of checkpoints in progress.

export interface TriggerOptions {
  readonly intervalMs: number
  readonly minPauseMs: number
  readonly maxConcurrent: number
}

export interface TriggerFacts {
  readonly now: number
  readonly pending: number
  /** When the last periodic checkpoint was triggered; -Infinity before the first. */
  readonly lastTriggerAt: number
  /** When the last checkpoint ended (completed or aborted); -Infinity before the first. */
  readonly lastEndAt: number
}

export type TriggerDecision =
  | { readonly kind: 'trigger' }
  | { readonly kind: 'wait-until'; readonly at: number }
  | { readonly kind: 'wait-for-completion' }

export function decideTrigger(options: TriggerOptions, facts: TriggerFacts): TriggerDecision {
  // A min pause means one checkpoint at a time, as in Flink.
  const maxConcurrent = options.minPauseMs > 0 ? 1 : options.maxConcurrent
  if (facts.pending >= maxConcurrent) return { kind: 'wait-for-completion' }
  const at = Math.max(facts.lastTriggerAt + options.intervalMs, facts.pending === 0 ? facts.lastEndAt + options.minPauseMs : -Infinity)
  return at <= facts.now ? { kind: 'trigger' } : { kind: 'wait-until', at }
}
