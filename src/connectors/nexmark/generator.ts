// The Nexmark event generator, with the semantics of the nexmark repository's generator
// (GeneratorConfig, NexmarkGenerator, Person/Auction/Bid generators; see /work/shared/NEXMARK.md):
// kinds in the 1 : 3 : 46 proportion by event id, person and auction ids from the event id, hot
// sellers, auctions and bidders, the same price, string and padding distributions, auction
// lengths around the in-flight horizon, event times at the configured rate with optional
// out-of-order groups. Unlike the repository (an unseeded SplittableRandom), every random choice
// is seeded by (seed, event id), as Beam's generator does, so a split can be rewound to any
// position and re-generates the same events: event n of a split is a pure function of n.

import type { Auction, Bid, NexmarkEvent, Person } from './model.ts'
import type { NexmarkOptions } from './options.ts'

const FIRST_PERSON_ID = 1000
const FIRST_AUCTION_ID = 1000
const FIRST_CATEGORY_ID = 10
const NUM_CATEGORIES = 5
const PERSON_ID_LEAD = 10
const AUCTION_ID_LEAD = 10
const HOT_SELLER_RATIO = 100
const HOT_AUCTION_RATIO = 100
const HOT_BIDDER_RATIO = 100
const HOT_CHANNELS_RATIO = 2
const CHANNELS_NUMBER = 10_000
const MIN_STRING_LENGTH = 3

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne']
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter']
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple']
const CREDIT_CARD_STRINGS = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'))

// A small, fast PRNG (mulberry32) whose state is reset per event from (seed, event id).
let rngState = 0
function reseed(seed: number, eventId: number): void {
  // Mix both halves of the id (ids exceed 2^32 in long runs) with the seed.
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ (eventId >>> 0)
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ Math.floor(eventId / 4294967296)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  rngState = (h ^ (h >>> 16)) >>> 0
}
function nextDouble(): number {
  let t = (rngState = (rngState + 0x6d2b79f5) | 0)
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
function nextInt(n: number): number {
  return Math.floor(nextDouble() * n)
}

/**
 * The generator's fixed tables: a deterministic string source for padding (like the repository's
 * REUSABLE_EXTRA_STRING), and the URLs of the hot and of every channel. Made on first use, not at
 * import: every slot's thread imports this module with Weir's API, and making them took a
 * tenth of a second of CPU per thread. Making them reseeds the PRNG, so the caller's state is kept.
 */
interface Tables {
  readonly extra: string
  readonly hotUrls: readonly string[]
  readonly channelUrls: readonly string[]
}
let tablesMade: Tables | null = null
function tables(): Tables {
  if (tablesMade) return tablesMade
  const saved = rngState
  reseed(7, 7)
  // Bytes, then one latin1 decode: 65,536 string concatenations took ~30 ms of each slot's start.
  const bytes = Buffer.allocUnsafe(1 << 16)
  for (let i = 0; i < bytes.length; i++) bytes[i] = 97 + nextInt(26)
  const extra = bytes.toString('latin1')
  reseed(11, 11)
  const hotUrls = HOT_CHANNELS.map(() => baseUrl())
  const channelUrls: string[] = []
  for (let i = 0; i < CHANNELS_NUMBER; i++) {
    let url = baseUrl()
    if (nextInt(10) > 0) url += `&channel_id=${Math.abs(reverseBits(i))}`
    channelUrls.push(url)
  }
  rngState = saved
  tablesMade = { extra, hotUrls, channelUrls }
  return tablesMade
}

/** Characters of nextString, reused (a string is built from them with one decode). */
const stringBytes = Buffer.allocUnsafe(256)

function nextString(maxLength: number, special = ' '): string {
  const len = MIN_STRING_LENGTH + nextInt(maxLength - MIN_STRING_LENGTH)
  const specialCode = special.charCodeAt(0)
  // Same draws as appending one character at a time, without a string per character.
  for (let i = 0; i < len; i++) stringBytes[i] = nextInt(13) === 0 ? specialCode : 97 + nextInt(26)
  return stringBytes.toString('latin1', 0, len).trim()
}

function nextExtra(currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return ''
  const desired = desiredAverageSize - currentSize
  const delta = Math.round(desired * 0.2)
  const size = desired - delta + (delta === 0 ? 0 : nextInt(2 * delta))
  const { extra } = tables()
  const offset = nextInt(extra.length - size)
  return extra.substring(offset, offset + size)
}

function baseUrl(): string {
  return `https://www.nexmark.com/${nextString(5, '_')}/${nextString(5, '_')}/${nextString(5, '_')}/item.htm?query=1`
}
function reverseBits(i: number): number {
  let r = 0
  for (let b = 0; b < 32; b++) r = (r << 1) | ((i >>> b) & 1)
  return r | 0
}

/** One split's generator: a parallel timeline with its own range of event ids (GeneratorConfig.split). */
export interface NexmarkSplitConfig {
  readonly index: number
  readonly firstEventId: number
  readonly maxEvents: number
  /** Splits in total: each timeline runs at rate / splits. */
  readonly numSplits: number
}

export function splitConfigs(options: NexmarkOptions, n: number): NexmarkSplitConfig[] {
  const sub = Math.floor(options.events / n)
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    firstEventId: 1 + i * sub,
    maxEvents: i === n - 1 ? options.events - sub * (n - 1) : sub,
    numSplits: n,
  }))
}

export class NexmarkGenerator {
  private readonly total: number
  private readonly interEventDelayUs: number
  private readonly firstEventNumber = 1

  constructor(private readonly options: NexmarkOptions, private readonly split: NexmarkSplitConfig) {
    this.total = options.personProportion + options.auctionProportion + options.bidProportion
    this.interEventDelayUs = (1_000_000 / options.firstEventRate) * split.numSplits
  }

  get maxEvents(): number {
    return this.split.maxEvents
  }

  timestampForEvent(eventNumber: number): number {
    return this.options.baseTime + Math.floor(Math.floor(eventNumber * this.interEventDelayUs) / 1000)
  }

  private adjustedEventNumber(count: number): number {
    const n = this.options.outOfOrderGroupSize
    const eventNumber = this.firstEventNumber + count
    if (n <= 1) return eventNumber
    return Math.floor(eventNumber / n) * n + ((eventNumber * 953) % n)
  }

  /** A lower bound of this and every later event's timestamp (the repository's NextEvent.watermark). */
  watermarkFor(count: number): number {
    const n = this.options.outOfOrderGroupSize
    const eventNumber = this.firstEventNumber + count
    return this.timestampForEvent(n <= 1 ? eventNumber : Math.floor(eventNumber / n) * n)
  }

  /** Event number `count` (0-based) of this split. */
  event(count: number): NexmarkEvent {
    const adjusted = this.adjustedEventNumber(count)
    const eventId = this.split.firstEventId + adjusted
    const timestamp = this.timestampForEvent(adjusted)
    reseed(this.options.seed, eventId)
    const rem = eventId % this.total
    const o = this.options
    if (rem < o.personProportion) return this.person(eventId, timestamp)
    if (rem < o.personProportion + o.auctionProportion) return this.auction(adjusted, eventId, timestamp)
    return this.bid(eventId, timestamp)
  }

  private lastBase0PersonId(eventId: number): number {
    const o = this.options
    const epoch = Math.floor(eventId / this.total)
    let offset = eventId % this.total
    if (offset >= o.personProportion) offset = o.personProportion - 1
    return epoch * o.personProportion + offset
  }

  private lastBase0AuctionId(eventId: number): number {
    const o = this.options
    let epoch = Math.floor(eventId / this.total)
    let offset = eventId % this.total
    if (offset < o.personProportion) {
      epoch--
      offset = o.auctionProportion - 1
    } else if (offset >= o.personProportion + o.auctionProportion) {
      offset = o.auctionProportion - 1
    } else {
      offset -= o.personProportion
    }
    return epoch * o.auctionProportion + offset
  }

  private nextBase0PersonId(eventId: number): number {
    const numPeople = this.lastBase0PersonId(eventId) + 1
    const active = Math.min(numPeople, this.options.numActivePeople)
    return numPeople - active + nextInt(active + PERSON_ID_LEAD)
  }

  private nextBase0AuctionId(eventId: number): number {
    const last = this.lastBase0AuctionId(eventId)
    const min = Math.max(last - this.options.numInFlightAuctions, 0)
    return min + nextInt(last - min + 1 + AUCTION_ID_LEAD)
  }

  private person(eventId: number, timestamp: number): Person {
    const name = `${FIRST_NAMES[nextInt(FIRST_NAMES.length)]} ${LAST_NAMES[nextInt(LAST_NAMES.length)]}`
    const emailAddress = `${nextString(7)}@${nextString(5)}.com`
    const creditCard = `${CREDIT_CARD_STRINGS[nextInt(10_000)]} ${CREDIT_CARD_STRINGS[nextInt(10_000)]} ${CREDIT_CARD_STRINGS[nextInt(10_000)]} ${CREDIT_CARD_STRINGS[nextInt(10_000)]}`
    const city = US_CITIES[nextInt(US_CITIES.length)]!
    const state = US_STATES[nextInt(US_STATES.length)]!
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length
    const extra = nextExtra(size, this.options.avgPersonByteSize)
    return { type: 0, id: this.lastBase0PersonId(eventId) + FIRST_PERSON_ID, name, emailAddress, creditCard, city, state, dateTime: timestamp, extra }
  }

  private auction(adjustedEventNumber: number, eventId: number, timestamp: number): Auction {
    const o = this.options
    const id = this.lastBase0AuctionId(eventId) + FIRST_AUCTION_ID
    let seller = nextInt(o.hotSellersRatio) > 0 ? Math.floor(this.lastBase0PersonId(eventId) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO : this.nextBase0PersonId(eventId)
    seller += FIRST_PERSON_ID
    const category = FIRST_CATEGORY_ID + nextInt(NUM_CATEGORIES)
    const initialBid = nextPrice()
    // The auction lasts around the time until numInFlightAuctions more auctions are created.
    const eventsForAuctions = Math.floor((o.numInFlightAuctions * this.total) / o.auctionProportion)
    const horizon = this.timestampForEvent(adjustedEventNumber + eventsForAuctions) - timestamp
    const expires = timestamp + 1 + nextInt(Math.max(horizon * 2, 1))
    const itemName = nextString(20)
    const description = nextString(100)
    const reserve = initialBid + nextPrice()
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8
    const extra = nextExtra(size, o.avgAuctionByteSize)
    return { type: 1, id, itemName, description, initialBid, reserve, dateTime: timestamp, expires, seller, category, extra }
  }

  private bid(eventId: number, timestamp: number): Bid {
    const o = this.options
    let auction = nextInt(o.hotAuctionRatio) > 0 ? Math.floor(this.lastBase0AuctionId(eventId) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO : this.nextBase0AuctionId(eventId)
    auction += FIRST_AUCTION_ID
    let bidder = nextInt(o.hotBiddersRatio) > 0 ? Math.floor(this.lastBase0PersonId(eventId) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1 : this.nextBase0PersonId(eventId)
    bidder += FIRST_PERSON_ID
    const price = nextPrice()
    let channel: string
    let url: string
    if (nextInt(HOT_CHANNELS_RATIO) > 0) {
      const i = nextInt(HOT_CHANNELS.length)
      channel = HOT_CHANNELS[i]!
      url = tables().hotUrls[i]!
    } else {
      const i = nextInt(CHANNELS_NUMBER)
      channel = `channel-${i}`
      url = tables().channelUrls[i]!
    }
    // The repository adds FIRST_PERSON_ID to the bidder a second time; kept, so ids match its output.
    bidder += FIRST_PERSON_ID
    const extra = nextExtra(32, o.avgBidByteSize)
    return { type: 2, auction, bidder, price, channel, url, dateTime: timestamp, extra }
  }
}

function nextPrice(): number {
  return Math.round(Math.pow(10, nextDouble() * 6) * 100)
}
