// The stream graph as the API builds it: a DAG of transformations. Every worker rebuilds the
// same graph from the job's builder, so ids are assigned in creation order and must be
// deterministic.

import type { Source } from '../api/source.ts'
import type { OperatorFactory } from '../operators/operator.ts'
import type { KeySelector } from '../api/functions.ts'
import type { WatermarkStrategy } from '../api/watermark.ts'

export type PartitionerSpec =
  | { readonly type: 'forward' }
  | { readonly type: 'rebalance' }
  | { readonly type: 'rescale' }
  | { readonly type: 'broadcast' }
  | { readonly type: 'global' }
  | { readonly type: 'hash'; readonly keySelector: KeySelector<unknown, unknown> }

interface Common {
  readonly id: number
  name: string
  uid: string | null
  /** null: the job's default parallelism. */
  parallelism: number | null
  maxParallelism: number | null
}

export interface SourceTransformation extends Common {
  readonly kind: 'source'
  readonly source: Source<unknown, unknown, unknown>
  /** fromSource(source, strategy, name): timestamps and per-split watermarks inside the reader. */
  readonly watermarkStrategy?: WatermarkStrategy<unknown> | null
}

export interface OneInputTransformation extends Common {
  readonly kind: 'one-input'
  readonly input: Transformation
  readonly factory: OperatorFactory
  /** Set on keyed streams: the selector the operator uses to set the current key. */
  readonly keySelector: KeySelector<unknown, unknown> | null
  /** Sinks are the ends of the graph; they are one-input operators that emit nothing. */
  readonly isSink: boolean
  /** Without a parallelism of its own, the operator takes its input's (a window's local phase, to chain to it). */
  readonly parallelismOfInput?: boolean
}

export interface TwoInputTransformation extends Common {
  readonly kind: 'two-input'
  readonly input1: Transformation
  readonly input2: Transformation
  readonly factory: OperatorFactory
  readonly keySelector1: KeySelector<unknown, unknown> | null
  readonly keySelector2: KeySelector<unknown, unknown> | null
}

/** Virtual: merges inputs without an operator. */
export interface UnionTransformation extends Common {
  readonly kind: 'union'
  readonly inputs: readonly Transformation[]
}

/** Virtual: says how records are distributed to the next operator. */
export interface PartitionTransformation extends Common {
  readonly kind: 'partition'
  readonly input: Transformation
  readonly partitioner: PartitionerSpec
}

/** Virtual: the side output `tag` of its input operator (getSideOutput). */
export interface SideOutputTransformation extends Common {
  readonly kind: 'side-output'
  readonly input: Transformation
  readonly tag: string
}

export type Transformation =
  | SideOutputTransformation
  | SourceTransformation
  | OneInputTransformation
  | TwoInputTransformation
  | UnionTransformation
  | PartitionTransformation

export type PhysicalTransformation = SourceTransformation | OneInputTransformation | TwoInputTransformation
