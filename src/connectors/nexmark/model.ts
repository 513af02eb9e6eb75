// Nexmark's events (an online auction): people, auctions and bids, as flat objects with a type
// tag (0 person, 1 auction, 2 bid, as the nexmark repository codes them). Times are ms.

export interface Person {
  readonly type: 0
  readonly id: number
  readonly name: string
  readonly emailAddress: string
  readonly creditCard: string
  readonly city: string
  readonly state: string
  readonly dateTime: number
  readonly extra: string
}

export interface Auction {
  readonly type: 1
  readonly id: number
  readonly itemName: string
  readonly description: string
  readonly initialBid: number
  readonly reserve: number
  readonly dateTime: number
  readonly expires: number
  readonly seller: number
  readonly category: number
  readonly extra: string
}

export interface Bid {
  readonly type: 2
  readonly auction: number
  readonly bidder: number
  readonly price: number
  readonly channel: string
  readonly url: string
  readonly dateTime: number
  readonly extra: string
}

export type NexmarkEvent = Person | Auction | Bid

export const PERSON = 0
export const AUCTION = 1
export const BID = 2
