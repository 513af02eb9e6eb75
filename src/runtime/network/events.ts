// Events that travel in the data channels, in order with the records: they never overtake
// the records sent before them.

export interface EndOfPartition {
  readonly type: 'end-of-partition'
}

export type ChannelEvent = EndOfPartition

export const END_OF_PARTITION: EndOfPartition = { type: 'end-of-partition' }
