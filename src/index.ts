// Weir's public API.

// Defining a job
export { defineJob, isJobDefinition, type JobDefinition } from './api/job.ts'
export { StreamEnvironment, CheckpointConfig, parseParams } from './api/environment.ts'
export { DataStream, KeyedStream, ConnectedStreams, DataStreamSink, BroadcastStream, BroadcastConnectedStream, type NumericField } from './api/datastream.ts'

// Functions and state
export type * from './api/functions.ts'
export { TimeDomain } from './api/functions.ts'

// Event time
export { WatermarkStrategy, BoundedOutOfOrdernessWatermarks, type WatermarkGenerator, type WatermarkOutput, type TimestampAssigner, type WatermarkGeneratorSupplier, type WatermarkGeneratorContext } from './api/watermark.ts'
export { OutputTag } from './api/output-tag.ts'

// Windows
export { WindowedStream, AllWindowedStream } from './api/windowed-stream.ts'
export { TimeWindow, GlobalWindow, type Window } from './api/windowing/windows.ts'
export {
  TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows,
  TumblingProcessingTimeWindows, SlidingProcessingTimeWindows, ProcessingTimeSessionWindows, GlobalWindows,
  type WindowAssigner, type WindowAssignerContext,
} from './api/windowing/assigners.ts'
export {
  TriggerResult, EventTimeTrigger, ProcessingTimeTrigger, CountTrigger, PurgingTrigger, ContinuousEventTimeTrigger,
  type Trigger, type TriggerContext, type OnMergeContext,
} from './api/windowing/triggers.ts'
export { CountEvictor, TimeEvictor, type Evictor, type EvictorContext, type TimestampedValue } from './api/windowing/evictors.ts'
export { JoinedStreams, CoGroupedStreams, WindowedJoin, IntervalJoin, IntervalJoined, type JoinFunction, type FlatJoinFunction, type CoGroupFunction, type ProcessJoinFunction, type IntervalJoinContext } from './api/joins.ts'
export type { ProcessWindowFunction, ProcessAllWindowFunction, ProcessWindowFunctionContext, KeyedStateStore } from './api/windowing/window-functions.ts'
export type { RuntimeContext } from './api/runtime-context.ts'
export type { MetricGroup, Counter, Gauge, Histogram, Meter } from './metrics/metric-group.ts'
export type { HistogramStatistics } from './metrics/task-metrics-sample.ts'
export {
  ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor,
  type ValueState, type ListState, type MapState, type ReducingState, type AggregatingState, type AggregateFunction,
  type State, type StateTtlConfig, type OperatorStateStore,
} from './api/state.ts'

// Sources and sinks
export { InputStatus, type Source, type SourceReader, type SourceReaderContext, type SplitEnumerator, type SplitEnumeratorContext, type ReaderOutput, type Boundedness } from './api/source.ts'
export type { Sink, SinkWriter, SinkWriterContext, TwoPhaseCommittingSink, CommittingSinkWriter, Committer, CommitRequest, CommitterContext, Committables, CommittedCheckpoint, CommittedCheckpointsQuery } from './api/sink.ts'
export { SplitQueueEnumerator, SplitQueueReader } from './connectors/split-queue.ts'
export { CollectionSource } from './connectors/collection/collection-source.ts'
export { SequenceSource } from './connectors/collection/sequence-source.ts'
export { TextFileSource } from './connectors/file/text-file-source.ts'
export { SocketTextSource } from './connectors/socket/socket-source.ts'
export { PrintSink } from './connectors/print/print-sink.ts'
export { FileSink, type FileSinkOptions, type FileCommittable } from './connectors/file/file-sink.ts'
export { DiscardingSink } from './connectors/discard/discarding-sink.ts'
export { NexmarkSource, type NexmarkSplit } from './connectors/nexmark/nexmark-source.ts'
export { NexmarkGenerator } from './connectors/nexmark/generator.ts'
export { NEXMARK_DEFAULTS, type NexmarkOptions } from './connectors/nexmark/options.ts'
export type { NexmarkEvent, Person, Auction, Bid } from './connectors/nexmark/model.ts'
export { PostgresSink } from './connectors/postgres/postgres-sink.ts'
export type { PostgresSinkOptions, PostgresSinkMode } from './connectors/postgres/options.ts'
export { JetStreamSource, type JetStreamSplit } from './connectors/nats/jetstream-source.ts'
export { JetStreamSink } from './connectors/nats/jetstream-sink.ts'
export type { JetStreamSourceOptions, JetStreamSinkOptions, NatsMessageInfo } from './connectors/nats/options.ts'

// Running jobs
export { JobExecution, type JobRunOptions, type JobResult, type JobMetrics, type JobStatus } from './runtime/jobmanager/mini-cluster.ts'
export { Configuration, type RawConfig } from './config/configuration.ts'

// Errors
export { WeirError, UserError, UserFunctionError, isWeirError, ERROR_CODES, type ErrorCode, type ErrorDomain } from './errors.ts'

// Key groups (pure math, shared with tests and tools)
export { assignToKeyGroup, assignKeyToOperator, keyGroupRangeForOperator, operatorIndexForKeyGroup, murmurHash, javaHashCode } from './state/key-groups.ts'
