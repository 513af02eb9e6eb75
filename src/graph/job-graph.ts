// Turns the stream graph (transformations) into the job graph: operators that need no
// redistribution are chained into one vertex (a keyBy between two operators of parallelism 1
// needs none either), and vertices are connected by edges that carry a partitioner. Pure and
// deterministic: every worker computes the same job graph.

import { createHash } from 'node:crypto'
import type { PartitionerSpec, PhysicalTransformation, Transformation } from './transformation.ts'
import { UserError } from '../errors.ts'
import { defaultMaxParallelism, checkParallelism } from '../state/key-groups.ts'

export interface JobEdge {
  readonly id: number
  readonly source: number
  readonly target: number
  readonly partitioner: PartitionerSpec
  /** 1 or 2: which input of a two-input head operator the edge feeds. */
  readonly targetInput: 1 | 2
  /** Number of the first channel of this edge; channels of an edge are numbered contiguously. */
  channelBase: number
  /** The side output this edge carries (getSideOutput), or null for the main output. */
  readonly outputTag?: string | null
}

export interface JobVertex {
  readonly id: number
  /** Chained operators, head first. */
  readonly operators: PhysicalTransformation[]
  readonly parallelism: number
  readonly maxParallelism: number
  readonly inputs: JobEdge[]
  readonly outputs: JobEdge[]
  /** Stable identities of the chained operators, parallel to `operators`. */
  readonly uids: string[]
  readonly name: string
}

export interface JobGraph {
  readonly vertices: JobVertex[]
  readonly edges: JobEdge[]
  /** Total number of network channels, for sizing tables. */
  readonly channelCount: number
}

export interface JobGraphOptions {
  defaultParallelism: number
  /** -1: derive from parallelism. */
  maxParallelism: number
  chaining: boolean
  /**
   * On a restore, the max parallelism each operator (by uid) had in the checkpoint or savepoint:
   * an operator whose max parallelism the job does not set takes it from there, as in Flink, so
   * that the key groups of its state stay what they were.
   */
  restoredMaxParallelism?: Readonly<Record<string, number>> | null
}

interface PhysicalInput {
  node: PhysicalTransformation
  partitioner: PartitionerSpec | null
  targetInput: 1 | 2
  outputTag: string | null
}

export function buildJobGraph(transformations: readonly Transformation[], options: JobGraphOptions): JobGraph {
  const physical = transformations.filter((t): t is PhysicalTransformation => t.kind === 'source' || t.kind === 'one-input' || t.kind === 'two-input')
  if (physical.length === 0) throw new UserError('WEIR_INVALID_JOB', 'the job defines no operators: add a source and a sink')

  const parallelism = new Map<PhysicalTransformation, number>()
  for (const t of physical) {
    if (t.kind === 'one-input' && t.parallelismOfInput === true && t.parallelism === null) {
      // Inputs come first in creation order, so theirs are resolved already.
      const inputs: PhysicalInput[] = []
      collectInputs(t.input, null, 1, inputs, null)
      const ps = new Set(inputs.map((i) => parallelism.get(i.node)))
      const only = ps.size === 1 ? [...ps][0] : undefined
      if (only !== undefined) {
        parallelism.set(t, only)
        continue
      }
    }
    parallelism.set(t, resolveParallelism(t, options))
  }

  // Physical inputs of each node, through unions and partitionings.
  const inputsOf = new Map<PhysicalTransformation, PhysicalInput[]>()
  const consumersOf = new Map<PhysicalTransformation, PhysicalTransformation[]>()
  for (const t of physical) {
    const inputs: PhysicalInput[] = []
    if (t.kind === 'one-input') collectInputs(t.input, null, 1, inputs, null)
    if (t.kind === 'two-input') {
      collectInputs(t.input1, null, 1, inputs, null)
      collectInputs(t.input2, null, 2, inputs, null)
    }
    inputsOf.set(t, inputs)
    for (const input of inputs) {
      const list = consumersOf.get(input.node) ?? []
      list.push(t)
      consumersOf.set(input.node, list)
    }
  }

  const hasOutput = (t: PhysicalTransformation) => (consumersOf.get(t)?.length ?? 0) > 0
  for (const t of physical) {
    if (t.kind === 'source' && !hasOutput(t)) throw new UserError('WEIR_INVALID_JOB', `source '${t.name}' is not connected to any operator; add a sink (e.g. .print())`)
  }

  const partitionerFor = (input: PhysicalInput, target: PhysicalTransformation): PartitionerSpec => {
    const pUp = parallelism.get(input.node)!
    const pDown = parallelism.get(target)!
    const spec = input.partitioner ?? (pUp === pDown ? { type: 'forward' } : { type: 'rebalance' })
    if (spec.type === 'forward' && pUp !== pDown) {
      throw new UserError('WEIR_INVALID_JOB', `forward partitioning does not allow a change of parallelism: '${input.node.name}' (${pUp}) -> '${target.name}' (${pDown}); use rebalance() instead`)
    }
    return spec
  }

  const chainable = (target: PhysicalTransformation): boolean => {
    if (!options.chaining || target.kind !== 'one-input') return false
    const inputs = inputsOf.get(target)!
    if (inputs.length !== 1) return false
    const up = inputs[0]!
    // A side output always crosses a channel, and so does the main output of an operator whose side output is read.
    return up.outputTag === null && consumersOf.get(up.node)!.length === 1 && oneToOne(up, target)
  }
  /**
   * Whether every record of `up` goes to the same subtask of `target`: a forward edge, or a keyBy
   * between two operators that each run once. Flink never chains a keyBy; at parallelism 1 its
   * one channel only delays the records (batched, handed over, taken apart again: a fifth of a
   * word count's thread time), since the keyed operator computes each record's key itself. The
   * keyed operator's key groups come from its vertex, so its max parallelism must be the chain's.
   */
  const oneToOne = (up: PhysicalInput, target: PhysicalTransformation): boolean => {
    const type = partitionerFor(up, target).type
    if (type === 'forward') return true
    if (type !== 'hash' || parallelism.get(up.node) !== 1 || parallelism.get(target) !== 1) return false
    return resolveMaxParallelism(target, 1, options) === vertexOf.get(up.node)!.maxParallelism
  }

  // Build chains in creation order (which is topological: inputs are created first).
  const vertexOf = new Map<PhysicalTransformation, JobVertex>()
  const vertices: JobVertex[] = []
  for (const t of physical) {
    if (chainable(t)) {
      const upVertex = vertexOf.get(inputsOf.get(t)![0]!.node)!
      upVertex.operators.push(t)
      upVertex.uids.push(uidOf(t))
      vertexOf.set(t, upVertex)
      continue
    }
    const p = parallelism.get(t)!
    const maxP = resolveMaxParallelism(t, p, options)
    const vertex: JobVertex = { id: vertices.length, operators: [t], parallelism: p, maxParallelism: maxP, inputs: [], outputs: [], uids: [uidOf(t)], name: '' }
    vertices.push(vertex)
    vertexOf.set(t, vertex)
  }

  const edges: JobEdge[] = []
  for (const t of physical) {
    if (chainable(t)) continue
    const target = vertexOf.get(t)!
    for (const input of inputsOf.get(t)!) {
      const source = vertexOf.get(input.node)!
      const edge: JobEdge = { id: edges.length, source: source.id, target: target.id, partitioner: partitionerFor(input, t), targetInput: input.targetInput, channelBase: 0, outputTag: input.outputTag }
      edges.push(edge)
      source.outputs.push(edge)
      target.inputs.push(edge)
    }
  }

  let channelCount = 0
  for (const edge of edges) {
    edge.channelBase = channelCount
    channelCount += channelsOf(edge, vertices)
  }
  for (const v of vertices) (v as { name: string }).name = v.operators.map((o) => o.name).join(' -> ')
  return { vertices, edges, channelCount }
}

/** Whether the edge connects subtask i only to subtask i (forward) or every pair. */
export function isPointwise(edge: JobEdge): boolean {
  return edge.partitioner.type === 'forward'
}

function channelsOf(edge: JobEdge, vertices: JobVertex[]): number {
  const pUp = vertices[edge.source]!.parallelism
  const pDown = vertices[edge.target]!.parallelism
  return isPointwise(edge) ? pUp : pUp * pDown
}

/** The global number of the channel from upstream subtask `from` to downstream subtask `to` on an edge. */
export function channelId(edge: JobEdge, downstreamParallelism: number, from: number, to: number): number {
  return isPointwise(edge) ? edge.channelBase + from : edge.channelBase + from * downstreamParallelism + to
}

function collectInputs(t: Transformation, partitioner: PartitionerSpec | null, targetInput: 1 | 2, out: PhysicalInput[], outputTag: string | null): void {
  switch (t.kind) {
    case 'union':
      for (const input of t.inputs) collectInputs(input, partitioner, targetInput, out, outputTag)
      return
    case 'partition':
      // The partitioning closest to the consumer wins.
      collectInputs(t.input, partitioner ?? t.partitioner, targetInput, out, outputTag)
      return
    case 'side-output':
      collectInputs(t.input, partitioner, targetInput, out, t.tag)
      return
    default:
      out.push({ node: t, partitioner, targetInput, outputTag })
  }
}

function resolveParallelism(t: PhysicalTransformation, options: JobGraphOptions): number {
  const limit = t.kind === 'source' ? (t.source.maxParallelism ?? Infinity) : Infinity
  if (t.parallelism !== null) {
    if (t.parallelism > limit) throw new UserError('WEIR_INVALID_JOB', `'${t.name}' supports a parallelism of at most ${limit}, but ${t.parallelism} was set`)
    return t.parallelism
  }
  return Math.min(options.defaultParallelism, limit)
}

function resolveMaxParallelism(t: PhysicalTransformation, p: number, options: JobGraphOptions): number {
  const restored = options.restoredMaxParallelism?.[uidOf(t)]
  const [maxP, from] = t.maxParallelism !== null
    ? [t.maxParallelism, 'set with setMaxParallelism']
    : options.maxParallelism > 0
      ? [options.maxParallelism, 'pipeline.max-parallelism']
      : restored !== undefined
        ? [restored, 'the max parallelism of its state in the checkpoint or savepoint']
        : [defaultMaxParallelism(p), 'derived from the parallelism']
  if (Number.isInteger(maxP) && p > maxP) {
    throw new UserError('WEIR_INVALID_JOB', `operator '${t.name}' has parallelism ${p}, above its max parallelism ${maxP} (${from}); the parallelism can be at most the max parallelism`)
  }
  checkParallelism(maxP, p)
  return maxP
}

/** The explicit uid, or a stable hash of the operator's position and name. */
export function uidOf(t: PhysicalTransformation): string {
  if (t.uid !== null) return t.uid
  return createHash('sha1').update(`${t.kind}:${t.id}:${t.name}`).digest('hex').slice(0, 16)
}
