// The shape of a job graph as plain data, and its comparison across processes. Every process
// and slot that runs part of a job calls the job's builder and must get the same graph: a
// builder that is not deterministic (a random uid, a parallelism read from the clock) would
// route records to the wrong channels, or silently restore no state for an operator whose uid
// changed. So the JobManager sends its description with the deployment, and each slot refuses
// to run when its own differs, saying where.

import { createHash } from 'node:crypto'
import type { JobGraph } from './job-graph.ts'
import { UserError } from '../errors.ts'

export interface OperatorShape {
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly parallelism: number
}

export interface VertexShape {
  readonly id: number
  readonly name: string
  readonly operators: ReadonlyArray<OperatorShape>
  readonly parallelism: number
  readonly maxParallelism: number
}

export interface EdgeShape {
  readonly source: number
  readonly target: number
  readonly partitioner: string
  readonly targetInput: number
}

/** What every builder run must agree on: vertices (chains, uids, parallelism) and edges. */
export interface GraphShape {
  readonly vertices: readonly VertexShape[]
  readonly edges: readonly EdgeShape[]
}

export function describeGraph(graph: JobGraph): GraphShape {
  return {
    vertices: graph.vertices.map((v) => ({
      id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism,
      operators: v.operators.map((t, i) => ({ kind: t.kind, name: t.name, uid: v.uids[i]!, parallelism: v.parallelism })),
    })),
    edges: graph.edges.map((e) => ({ source: e.source, target: e.target, partitioner: e.partitioner.type, targetInput: e.targetInput })),
  }
}

/** A short digest of the shape, equal exactly when the shapes are equal. */
export function graphFingerprint(shape: GraphShape): string {
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32)
}

/** Where `mine` differs from `reference`, in words; null when they are the same. */
export function describeGraphDifference(reference: GraphShape, mine: GraphShape): string | null {
  // Operators first (in the order the builder created them): that is what a user wrote.
  const ops = (g: GraphShape) => g.vertices.flatMap((v) => v.operators)
  const a = ops(reference)
  const b = ops(mine)
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!
    const y = b[i]!
    if (x.kind !== y.kind || x.name !== y.name) return `operator ${i + 1} is a ${x.kind} operator '${x.name}' on the JobManager, a ${y.kind} operator '${y.name}' here`
    if (x.uid !== y.uid) return `operator '${x.name}' has uid '${x.uid}' on the JobManager and '${y.uid}' here`
    if (x.parallelism !== y.parallelism) return `operator '${x.name}' has parallelism ${x.parallelism} on the JobManager, ${y.parallelism} here`
  }
  if (a.length !== b.length) return `the JobManager's graph has ${a.length} operators, this one ${b.length} (${list(a)} vs ${list(b)})`
  if (reference.vertices.length !== mine.vertices.length) {
    return `the JobManager chains the operators into ${reference.vertices.length} tasks, this one into ${mine.vertices.length} (${names(reference)} vs ${names(mine)})`
  }
  for (let i = 0; i < reference.vertices.length; i++) {
    const v = reference.vertices[i]!
    const w = mine.vertices[i]!
    if (v.name !== w.name) return `task ${i} chains '${v.name}' on the JobManager, '${w.name}' here`
    if (v.maxParallelism !== w.maxParallelism) return `task ${i} ('${v.name}') has max parallelism ${v.maxParallelism} on the JobManager, ${w.maxParallelism} here`
  }
  const edges = Math.max(reference.edges.length, mine.edges.length)
  for (let i = 0; i < edges; i++) {
    const e = reference.edges[i]
    const f = mine.edges[i]
    if (!e || !f) return `the JobManager's graph has ${reference.edges.length} edge(s), this one ${mine.edges.length}`
    const between = `the edge '${reference.vertices[e.source]!.name}' -> '${reference.vertices[e.target]!.name}'`
    if (e.source !== f.source || e.target !== f.target || e.targetInput !== f.targetInput) {
      return `${between} connects task ${e.source} to ${e.target} (input ${e.targetInput}) on the JobManager, task ${f.source} to ${f.target} (input ${f.targetInput}) here`
    }
    if (e.partitioner !== f.partitioner) return `${between} is partitioned by ${e.partitioner} on the JobManager, by ${f.partitioner} here`
  }
  return null
}

/** Fails when the graph a slot built is not the JobManager's (see the file comment). */
export function checkSameGraph(reference: GraphShape, graph: JobGraph, jobName: string, where: string): void {
  const mine = describeGraph(graph)
  if (graphFingerprint(mine) === graphFingerprint(reference)) return
  const difference = describeGraphDifference(reference, mine) ?? 'the graphs differ'
  throw new UserError('WEIR_INVALID_JOB', `the builder of job '${jobName}' is not deterministic: ${where} built a different job graph than the JobManager: ${difference}. Every process and slot runs the builder and must get the same graph: uids, names, parallelism and the shape must not depend on randomness, the clock or the machine (e.g. no Math.random() in a uid)`)
}

function list(ops: readonly OperatorShape[]): string {
  return ops.map((o) => `'${o.name}'`).join(', ')
}

function names(shape: GraphShape): string {
  return shape.vertices.map((v) => `'${v.name}'`).join(', ')
}
