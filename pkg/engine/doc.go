// Package engine is the source-agnostic half of the plugin: the common flow record, the Source
// interface every flow-log system implements, and what the engine does with sources — fan-out of
// multi-value filters, composition of filters a source lacks, top talkers, protocols and
// bucketed series computed from records (or asked of the source when it aggregates on its
// server), and the data frames of every answer.
//
// It imports no package under pkg/sources: sources import it (a test checks this).
//
// # The contract for a source
//
// A source (pkg/sources/<name>) implements Source:
//
//   - Name names the system in messages ("Flows API").
//   - Capabilities says what it can do: native filters, group-bys and dimensions (including
//     its own, carried in Record.Labels), query types, the record granularity (WindowSize), the
//     largest top N and page, the sort fields, and the columns of its flows table.
//   - ReadRecords reads the records of [From, To] matching one single-value Filter, sorted,
//     at most MaxRows of them, and says what it asked (request strings for
//     ExecutedQueryString), the total when the system reports one and whether MaxRows cut the
//     read short. Each record is returned once (ids are unique within one read).
//   - CheckHealth proves the settings and says what the system holds.
//
// Everything else is optional and found by type assertion; without it the engine computes the
// answer from ReadRecords:
//
//   - TalkersAggregator, ProtocolsAggregator, SeriesAggregator, ValueLister: the system
//     aggregates over a range and filters on its server (Elasticsearch terms/date_histogram).
//   - LookbackAggregator: the system aggregates over [its now − window, its now] without
//     filters (the Flows API's /top-talkers and /protocols). Used directly when a range ends
//     now and has no filter; a planner can combine two look-backs for a past range.
//   - Counter: the number of records for a range and filter, cheaply (/flows?limit=1).
//   - RequestDescriber: the request strings a read or look-back would make, without making
//     it (the editor's request preview).
//   - QueryTypeHandler: query types only this source has (AWS flowLogConfigs), answered with
//     frames by the source itself.
//
// Errors: a source returns *DownstreamError (see Downstream) for anything its system caused —
// an error answer, no answer, a body that does not parse — so the plugin tags it as a
// downstream error with the right status. A query the source cannot answer gets
// *UnsupportedError, naming the source and the missing capability.
//
// docs/sources.md describes the boundary for people; the flowsapi package is the reference
// implementation.
package engine
