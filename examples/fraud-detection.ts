// Keyed state and timers, after Flink's fraud-detection walkthrough: an account that makes a
// small transaction (under 1.00) followed by a large one (over 500.00) within a short window
// raises an alert. The "last was small" flag lives in keyed ValueState; a processing-time
// timer clears it when the window passes. Transactions come from a generator source that
// paces itself (--rate per second), so the timers have time to fire.
//
//   npx weir run examples/fraud-detection.ts [--count 3000] [--rate 1000] [--window-ms 1000]

import {
  defineJob, InputStatus, SplitQueueEnumerator, ValueStateDescriptor,
  type Collector, type KeyedContext, type KeyedProcessFunction, type ReaderOutput, type TimerService, type RuntimeContext, type Source, type SourceReader,
  type SourceReaderContext, type SplitEnumeratorContext, type ValueState,
} from 'weir-stream'

interface Transaction {
  accountId: number
  amount: number
  /** Sequence number of the transaction, for readable alerts. */
  seq: number
}

interface Alert {
  accountId: number
  small: number
  large: number
  seq: number
}

/** Deterministic transactions: mostly ordinary amounts, with planted small-then-large pairs. */
function transactionAt(seq: number): Transaction {
  const accountId = (seq * 7919) % 5
  const planted = seq % 97
  const amount = planted === 0 ? 0.42 : planted === 5 ? 725.5 : 10 + ((seq * 104729) % 40000) / 100
  return { accountId, amount, seq }
}

interface GeneratorSplit {
  next: number
  readonly count: number
}

/** A paced, rewindable generator: its position is the next sequence number. */
class TransactionSource implements Source<Transaction, GeneratorSplit, GeneratorSplit[]> {
  readonly boundedness = 'bounded'
  readonly maxParallelism = 1
  constructor(private readonly count: number, private readonly ratePerSecond: number) {}
  createEnumerator(ctx: SplitEnumeratorContext<GeneratorSplit>, restored?: GeneratorSplit[]) {
    return new SplitQueueEnumerator(ctx, restored ?? [{ next: 0, count: this.count }])
  }
  createReader(ctx: SourceReaderContext): SourceReader<Transaction, GeneratorSplit> {
    return new PacedReader(ctx, this.ratePerSecond)
  }
}

class PacedReader implements SourceReader<Transaction, GeneratorSplit> {
  private split: GeneratorSplit | null = null
  private done = false
  private readonly startedAt = Date.now()
  private emittedSinceStart = 0
  constructor(private readonly ctx: SourceReaderContext, private readonly rate: number) {}
  start(): void {
    this.ctx.sendSplitRequest()
  }
  addSplits(splits: GeneratorSplit[]): void {
    this.split = splits[0] ?? null
    this.ctx.signalAvailable()
  }
  notifyNoMoreSplits(): void {
    this.done = this.split === null
    this.ctx.signalAvailable()
  }
  pollNext(output: ReaderOutput<Transaction>): InputStatus {
    const split = this.split
    if (split === null) return this.done ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE
    if (split.next >= split.count) return InputStatus.END_OF_INPUT
    // Emit what the rate allows by now; otherwise come back when the next one is due.
    const allowed = Math.floor(((Date.now() - this.startedAt) / 1000) * this.rate) - this.emittedSinceStart
    if (allowed <= 0) {
      setTimeout(() => this.ctx.signalAvailable(), Math.ceil(1000 / this.rate))
      return InputStatus.NOTHING_AVAILABLE
    }
    const end = Math.min(split.count, split.next + allowed)
    for (; split.next < end; split.next++, this.emittedSinceStart++) output.collect(transactionAt(split.next))
    return InputStatus.MORE_AVAILABLE
  }
  snapshotState(): GeneratorSplit[] {
    return this.split ? [{ ...this.split }] : []
  }
  close(): void {}
}

class FraudDetector implements KeyedProcessFunction<number, Transaction, Alert> {
  private lastSmall!: ValueState<Transaction | null>
  private timer!: ValueState<number | null>
  constructor(private readonly windowMs: number) {}

  open(ctx: RuntimeContext): void {
    this.lastSmall = ctx.getState(new ValueStateDescriptor<Transaction | null>('last-small', null))
    this.timer = ctx.getState(new ValueStateDescriptor<number | null>('timer', null))
  }

  processElement(tx: Transaction, ctx: KeyedContext<number>, out: Collector<Alert>): void {
    const small = this.lastSmall.value()
    if (small !== null) {
      if (tx.amount > 500) out.collect({ accountId: tx.accountId, small: small.amount, large: tx.amount, seq: tx.seq })
      this.clear(ctx.timerService())
    }
    if (tx.amount < 1) {
      this.lastSmall.update(tx)
      const at = ctx.timerService().currentProcessingTime() + this.windowMs
      ctx.timerService().registerProcessingTimeTimer(at)
      this.timer.update(at)
    }
  }

  onTimer(): void {
    // The window passed without a large transaction: forget the small one.
    this.lastSmall.clear()
    this.timer.clear()
  }

  private clear(timers: TimerService): void {
    const t = this.timer.value()
    if (t !== null) timers.deleteProcessingTimeTimer(t)
    this.lastSmall.clear()
    this.timer.clear()
  }
}

export default defineJob('FraudDetection', (env) => {
  const count = Number(env.params.count ?? 3000)
  const rate = Number(env.params.rate ?? 1000)
  const windowMs = Number(env.params['window-ms'] ?? 1000)

  env.fromSource(new TransactionSource(count, rate), 'Transactions').uid('transactions')
    .keyBy((tx) => tx.accountId)
    .process(new FraudDetector(windowMs)).name('Fraud Detector').uid('fraud-detector')
    .print('alert')
})
