// Options of the Nexmark generator, with the nexmark repository's defaults (NexmarkConfiguration)
// where they exist. The rate only spaces event time: events are produced as fast as the job
// takes them, as with the repository's maxEmitSpeed.

export interface NexmarkOptions {
  /** Events in total, over all splits. */
  readonly events: number
  /** Events per second of event time, over all splits (the V1 setup: 10 M). */
  readonly firstEventRate: number
  /** Event time of the first event (ms); fixed so runs are reproducible. */
  readonly baseTime: number
  /** Seeds every random choice (with the event id), so any split rewinds to the same events. */
  readonly seed: number
  /** Events whose timestamps are shuffled within a group (1: in order). */
  readonly outOfOrderGroupSize: number
  readonly personProportion: number
  readonly auctionProportion: number
  readonly bidProportion: number
  readonly avgPersonByteSize: number
  readonly avgAuctionByteSize: number
  readonly avgBidByteSize: number
  readonly hotAuctionRatio: number
  readonly hotSellersRatio: number
  readonly hotBiddersRatio: number
  readonly numInFlightAuctions: number
  readonly numActivePeople: number
  /** Number of splits (parallel timelines); default: the source's parallelism. */
  readonly splits: number | null
  /** Events a reader emits per poll. */
  readonly batch: number
  /**
   * After its last event a reader waits this long before its input ends (so processing-time
   * windows can fire); Infinity: the input never ends, the job runs until it is canceled or stopped.
   */
  readonly lingerMs: number
}

export const NEXMARK_DEFAULTS: NexmarkOptions = {
  events: 1_000_000,
  firstEventRate: 10_000_000,
  baseTime: 1_700_000_000_000,
  seed: 1,
  outOfOrderGroupSize: 1,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
  splits: null,
  batch: 1024,
  lingerMs: 0,
}
