// Builds a task's operator chain from its job vertex: each operator is created by its
// transformation's factory and set up with its context and its successor as output, from the
// tail backwards, so that the tail writes to the task's record writers. A source heading the
// chain is not an operator: its reader writes into the output the chain hands back.

import type { JobVertex } from '../../graph/job-graph.ts'
import type { StreamOperator, Output } from '../../operators/operator.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import { WeirError } from '../../errors.ts'
import { ChainingOutput, WritersOutput } from './chain-outputs.ts'
import { createOperatorContext, type ChainContextDeps } from './operator-context.ts'

export interface BuiltChain {
  /** The chain's operators, head first (a source is not among them). */
  readonly operators: StreamOperator<unknown, unknown>[]
  /** uids parallel to `operators`. */
  readonly operatorUids: string[]
  /** Operators that can hold input back (sinks with asynchronous writes). */
  readonly blockable: StreamOperator<unknown, unknown>[]
  /** Where the chain's first element emits: the head operator, or the writers for a lone source. */
  readonly headOutput: Output<unknown>
}

export function buildChain(vertex: JobVertex, writers: RecordWriter[], deps: ChainContextDeps): BuiltChain {
  const operators: StreamOperator<unknown, unknown>[] = []
  const operatorUids: string[] = []
  const blockable: StreamOperator<unknown, unknown>[] = []
  let output: Output<unknown> = new WritersOutput(writers, vertex.outputs.map((e) => e.outputTag ?? null))
  const first = vertex.operators[0]!.kind === 'source' ? 1 : 0
  for (let i = vertex.operators.length - 1; i >= first; i--) {
    const t = vertex.operators[i]!
    if (t.kind === 'source') throw new WeirError('WEIR_INTERNAL', 'a source can only head a chain')
    const operator = t.factory()
    const keyed = t.kind === 'one-input' ? t.keySelector !== null : t.keySelector1 !== null
    operator.setup(createOperatorContext(deps, i, keyed, operator), output)
    operators.unshift(operator)
    operatorUids.unshift(vertex.uids[i]!)
    output = new ChainingOutput(operator)
    if (operator.isBlocked) blockable.push(operator)
  }
  return { operators, operatorUids, blockable, headOutput: output }
}
