// Which slots of an attempt exchange data, so that a TaskManager links only those. The job's
// edges decide it: a forward edge keeps subtask i in slot i mod slots; any other edge (rebalance,
// keyBy, broadcast, ...) links every slot that runs a subtask of its source with every slot that
// runs a subtask of its target. Linking every pair regardless cost slots² / 2 channels: 19,900
// MessageChannels (or 39,800 shared-memory rings) at 200 slots for a job fanning out from one
// source, which needs 199.

import type { GraphShape } from '../../graph/graph-fingerprint.ts'

/** For each slot (by global index), the slots it exchanges data with; symmetric, never itself. */
export function slotPeers(graph: GraphShape, numSlots: number): Array<Set<number>> {
  const peers = Array.from({ length: numSlots }, () => new Set<number>())
  for (const edge of graph.edges) {
    if (edge.partitioner === 'forward') continue // subtask i to subtask i: within slot i mod slots
    // Subtask i runs in slot i mod slots (slotOf), so a vertex of parallelism p uses slots 0 .. min(p, slots) - 1.
    const from = Math.min(graph.vertices[edge.source]!.parallelism, numSlots)
    const to = Math.min(graph.vertices[edge.target]!.parallelism, numSlots)
    for (let a = 0; a < from; a++) {
      for (let b = 0; b < to; b++) {
        if (a === b) continue
        peers[a]!.add(b)
        peers[b]!.add(a)
      }
    }
  }
  return peers
}

/** The linked pairs [a, b], a < b, in order. */
export function linkedSlotPairs(graph: GraphShape, numSlots: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = []
  slotPeers(graph, numSlots).forEach((peers, a) => {
    for (const b of [...peers].sort((x, y) => x - y)) if (a < b) pairs.push([a, b])
  })
  return pairs
}
