//! One journal record becomes one OTLP span. The record's times are on the
//! runtime's monotonic clock; a span's are Unix nanoseconds, so the
//! exporter measures the offset between the two clocks once, when it
//! starts ([`WallClock`]): every span of a run is shifted by the same
//! amount, so durations and the order of spans are the monotonic clock's,
//! and a later change of the system clock (NTP stepping it) moves no span.
//!
//! Ids: the caller's `traceparent` gives the trace id and the parent span;
//! without one an invocation gets a trace of its own and the stages of one
//! pipeline run share one, derived from the run's number. Span ids are
//! always new. Ids come from SipHash under keys the standard library draws
//! at random ([`IdSource`]): unique and unguessable enough for tracing,
//! without a random-number crate.

use faasrt_runtime::{InvocationRecord, TraceContext};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, Status};
use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

/// The `outcome` of an invocation that succeeded; every other is an error.
const SUCCESS: &str = "ok";

/// The W3C trace flag "sampled": faasrt exports every span it makes.
const SAMPLED: u32 = 0x01;

/// Turns journal times into Unix times: `unix = journal + offset`, the
/// offset measured once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    /// Measures the offset now: the system clock minus the journal's clock
    /// (`journal_now_ns`, from [`faasrt_runtime::Runtime::journal_now_ns`]).
    pub(crate) fn measure(journal_now_ns: u64) -> Self {
        let unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as i128);
        WallClock {
            offset_ns: unix_ns - i128::from(journal_now_ns),
        }
    }

    /// A clock with a known offset.
    #[cfg(test)]
    pub(crate) fn with_offset(offset_ns: i128) -> Self {
        WallClock { offset_ns }
    }

    /// `journal_ns` in Unix nanoseconds.
    pub(crate) fn unix_ns(&self, journal_ns: u64) -> u64 {
        (i128::from(journal_ns) + self.offset_ns).clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// Makes trace and span ids: SipHash of a counter under random keys.
pub(crate) struct IdSource {
    keys: RandomState,
    next: u64,
}

impl IdSource {
    /// A source with keys of its own.
    pub(crate) fn new() -> Self {
        IdSource {
            keys: RandomState::new(),
            next: 0,
        }
    }

    fn fresh(&mut self, lane: u8) -> u64 {
        loop {
            self.next += 1;
            let value = self.keys.hash_one((lane, self.next));
            if value != 0 {
                return value;
            }
        }
    }

    /// A new span id (never all zero, as OTLP requires).
    pub(crate) fn span_id(&mut self) -> [u8; 8] {
        self.fresh(b's').to_be_bytes()
    }

    /// A new trace id.
    pub(crate) fn trace_id(&mut self) -> [u8; 16] {
        join(self.fresh(b't'), self.fresh(b't'))
    }

    /// The trace id of pipeline run `run`: the same for each of its stages.
    pub(crate) fn run_trace_id(&self, run: u64) -> [u8; 16] {
        let high = self.keys.hash_one((b'r', run, 0u8));
        // Not all zero: the low half is never 0.
        let low = self.keys.hash_one((b'r', run, 1u8)).max(1);
        join(high, low)
    }
}

fn join(high: u64, low: u64) -> [u8; 16] {
    let mut id = [0; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

/// The fields of one journal record that its span carries: a view of the
/// record, so that a field the journal gains changes nothing here until a
/// span should carry it too.
#[derive(Clone, Debug)]
pub(crate) struct SpanFields<'a> {
    pub(crate) seq: u64,
    pub(crate) function: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) start_kind: &'a str,
    pub(crate) arrival_ns: u64,
    pub(crate) dequeue_ns: u64,
    pub(crate) start_ns: u64,
    pub(crate) ready_ns: u64,
    pub(crate) end_ns: u64,
    pub(crate) reply_ns: u64,
    pub(crate) outcome: &'a str,
    pub(crate) exit_code: i32,
    pub(crate) input_bytes: u64,
    pub(crate) output_bytes: u64,
    pub(crate) cpu_ns: Option<u64>,
    pub(crate) peak_memory_bytes: Option<u64>,
    /// Cycles, instructions and LLC misses, where counted.
    pub(crate) hw: [Option<u64>; 3],
    pub(crate) stage: Option<StageFields<'a>>,
    pub(crate) trace: Option<TraceContext>,
}

/// Where a pipeline stage sat in its run ([`faasrt_runtime::StageRecord`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StageFields<'a> {
    pub(crate) run: u64,
    pub(crate) index: usize,
    pub(crate) stages: usize,
    pub(crate) input_edge: &'a str,
    pub(crate) output_edge: &'a str,
    pub(crate) blocked_read_ns: u64,
    pub(crate) blocked_write_ns: u64,
}

impl<'a> From<&'a InvocationRecord> for SpanFields<'a> {
    fn from(record: &'a InvocationRecord) -> Self {
        SpanFields {
            seq: record.seq,
            function: &record.function,
            kind: record.kind,
            start_kind: record.start_kind,
            arrival_ns: record.arrival_ns,
            dequeue_ns: record.dequeue_ns,
            start_ns: record.start_ns,
            ready_ns: record.ready_ns,
            end_ns: record.end_ns,
            reply_ns: record.reply_ns,
            outcome: record.outcome,
            exit_code: record.exit_code,
            input_bytes: record.input_bytes,
            output_bytes: record.output_bytes,
            cpu_ns: record.cpu_ns,
            peak_memory_bytes: record.peak_memory_bytes,
            hw: [record.cycles, record.instructions, record.llc_misses],
            stage: record.stage.as_ref().map(|stage| StageFields {
                run: stage.run,
                index: stage.index,
                stages: stage.stages,
                input_edge: stage.input_edge,
                output_edge: stage.output_edge,
                blocked_read_ns: stage.blocked_read_ns,
                blocked_write_ns: stage.blocked_write_ns,
            }),
            trace: record.trace,
        }
    }
}

/// Makes the spans of journal records.
pub(crate) struct SpanMaker {
    clock: WallClock,
    ids: IdSource,
}

impl SpanMaker {
    /// Spans timed with `clock`.
    pub(crate) fn new(clock: WallClock) -> Self {
        SpanMaker {
            clock,
            ids: IdSource::new(),
        }
    }

    /// The span of `record`: named for its function, kind SERVER, status
    /// ERROR unless it succeeded, its fields as `faasrt.*` attributes.
    pub(crate) fn span(&mut self, record: &SpanFields<'_>) -> Span {
        let (trace_id, parent_span_id, flags) = match (&record.trace, &record.stage) {
            (Some(trace), _) => (
                trace.trace_id,
                trace.parent_id.to_vec(),
                // The parent is the caller's span, in another process.
                u32::from(trace.flags)
                    | SpanFlags::ContextHasIsRemoteMask as u32
                    | SpanFlags::ContextIsRemoteMask as u32,
            ),
            (None, Some(stage)) => (
                self.ids.run_trace_id(stage.run),
                Vec::new(),
                SAMPLED | SpanFlags::ContextHasIsRemoteMask as u32,
            ),
            (None, None) => (
                self.ids.trace_id(),
                Vec::new(),
                SAMPLED | SpanFlags::ContextHasIsRemoteMask as u32,
            ),
        };
        Span {
            trace_id: trace_id.to_vec(),
            span_id: self.ids.span_id().to_vec(),
            parent_span_id,
            flags,
            name: record.function.to_string(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: self.clock.unix_ns(record.start_ns),
            end_time_unix_nano: self.clock.unix_ns(record.end_ns),
            attributes: attributes(record),
            status: status(record),
            ..Span::default()
        }
    }
}

/// ERROR with the outcome and exit code, or none (unset) on success.
fn status(record: &SpanFields<'_>) -> Option<Status> {
    (record.outcome != SUCCESS).then(|| Status {
        code: StatusCode::Error as i32,
        message: format!("{} (exit code {})", record.outcome, record.exit_code),
    })
}

/// The record's fields as `faasrt.*` attributes; absent ones are left out.
fn attributes(record: &SpanFields<'_>) -> Vec<KeyValue> {
    let mut attributes = vec![
        text("faasrt.function", record.function),
        text("faasrt.kind", record.kind),
        text("faasrt.start_kind", record.start_kind),
        text("faasrt.outcome", record.outcome),
        int("faasrt.exit_code", i64::from(record.exit_code)),
        count("faasrt.input_bytes", record.input_bytes),
        count("faasrt.output_bytes", record.output_bytes),
        count("faasrt.seq", record.seq),
        // Offsets from the span's start: how long the request waited for a
        // slot before it, and how long its instance took to be ready.
        count(
            "faasrt.arrival_offset_ns",
            record.start_ns.saturating_sub(record.arrival_ns),
        ),
        count(
            "faasrt.ready_offset_ns",
            record.ready_ns.saturating_sub(record.start_ns),
        ),
        // Of the span's start too: the wait for an instance slot within
        // the arrival offset, and when the result went back after the end.
        count(
            "faasrt.dequeue_offset_ns",
            record.start_ns.saturating_sub(record.dequeue_ns),
        ),
        count(
            "faasrt.reply_offset_ns",
            record.reply_ns.saturating_sub(record.start_ns),
        ),
    ];
    for (key, value) in ["faasrt.cycles", "faasrt.instructions", "faasrt.llc_misses"]
        .into_iter()
        .zip(record.hw)
    {
        if let Some(value) = value {
            attributes.push(count(key, value));
        }
    }
    if let Some(cpu_ns) = record.cpu_ns {
        attributes.push(count("faasrt.cpu_ns", cpu_ns));
    }
    if let Some(peak) = record.peak_memory_bytes {
        attributes.push(count("faasrt.peak_memory_bytes", peak));
    }
    if let Some(stage) = &record.stage {
        attributes.extend([
            count("faasrt.stage.index", stage.index as u64),
            count("faasrt.stage.stages", stage.stages as u64),
            count("faasrt.stage.run", stage.run),
            text("faasrt.stage.input_edge", stage.input_edge),
            text("faasrt.stage.output_edge", stage.output_edge),
            count("faasrt.stage.blocked_read_ns", stage.blocked_read_ns),
            count("faasrt.stage.blocked_write_ns", stage.blocked_write_ns),
        ]);
    }
    attributes
}

fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, Value::StringValue(value.to_owned()))
}

fn int(key: &str, value: i64) -> KeyValue {
    attribute(key, Value::IntValue(value))
}

/// A count as OTLP's signed integer (past `i64::MAX`, which no count
/// reaches, it saturates).
fn count(key: &str, value: u64) -> KeyValue {
    int(key, i64::try_from(value).unwrap_or(i64::MAX))
}

fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// The resource every span comes from: `service.name = faasrt`, its
/// version, and `host.name` when the host has one.
pub(crate) fn resource(host_name: Option<&str>) -> Resource {
    let mut attributes = vec![
        text("service.name", "faasrt"),
        text("service.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(host) = host_name {
        attributes.push(text("host.name", host));
    }
    Resource {
        attributes,
        ..Resource::default()
    }
}

/// This machine's host name (Linux), if it has one.
pub(crate) fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

/// One export request: `spans` from `resource`, under faasrt's scope.
pub(crate) fn request(resource: &Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "faasrt-server".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SpanFields<'static> {
        SpanFields {
            seq: 7,
            function: "upper",
            kind: "wasm",
            start_kind: "snapshot",
            arrival_ns: 1_000,
            dequeue_ns: 1_200,
            start_ns: 1_500,
            ready_ns: 1_700,
            end_ns: 9_000,
            reply_ns: 9_100,
            outcome: "ok",
            exit_code: 0,
            input_bytes: 12,
            output_bytes: 34,
            cpu_ns: None,
            peak_memory_bytes: None,
            hw: [None; 3],
            stage: None,
            trace: None,
        }
    }

    fn value<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()?.value.as_ref())
    }

    fn int_of(span: &Span, key: &str) -> Option<i64> {
        match value(span, key)? {
            Value::IntValue(v) => Some(*v),
            other => panic!("{key} is {other:?}"),
        }
    }

    fn text_of<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
        match value(span, key)? {
            Value::StringValue(v) => Some(v),
            other => panic!("{key} is {other:?}"),
        }
    }

    #[test]
    fn a_record_becomes_a_server_span_with_its_times_and_fields() {
        let mut maker = SpanMaker::new(WallClock::with_offset(1_000_000));
        let span = maker.span(&record());
        assert_eq!(span.name, "upper");
        assert_eq!(span.kind, SpanKind::Server as i32);
        assert_eq!(span.start_time_unix_nano, 1_001_500);
        assert_eq!(span.end_time_unix_nano, 1_009_000);
        assert_eq!(span.status, None, "success leaves the status unset");
        assert_eq!(text_of(&span, "faasrt.function"), Some("upper"));
        assert_eq!(text_of(&span, "faasrt.kind"), Some("wasm"));
        assert_eq!(text_of(&span, "faasrt.start_kind"), Some("snapshot"));
        assert_eq!(text_of(&span, "faasrt.outcome"), Some("ok"));
        assert_eq!(int_of(&span, "faasrt.exit_code"), Some(0));
        assert_eq!(int_of(&span, "faasrt.input_bytes"), Some(12));
        assert_eq!(int_of(&span, "faasrt.output_bytes"), Some(34));
        assert_eq!(int_of(&span, "faasrt.seq"), Some(7));
        assert_eq!(int_of(&span, "faasrt.arrival_offset_ns"), Some(500));
        assert_eq!(int_of(&span, "faasrt.ready_offset_ns"), Some(200));
        assert_eq!(int_of(&span, "faasrt.dequeue_offset_ns"), Some(300));
        assert_eq!(int_of(&span, "faasrt.reply_offset_ns"), Some(7_600));
        assert_eq!(span.trace_id.len(), 16);
        assert_ne!(span.trace_id, vec![0; 16]);
        assert_eq!(span.span_id.len(), 8);
        assert!(span.parent_span_id.is_empty(), "no caller, no parent");
    }

    #[test]
    fn absent_fields_are_left_out_not_sent_as_zero() {
        let span = SpanMaker::new(WallClock::with_offset(0)).span(&record());
        for key in [
            "faasrt.cpu_ns",
            "faasrt.peak_memory_bytes",
            "faasrt.cycles",
            "faasrt.instructions",
            "faasrt.llc_misses",
        ] {
            assert_eq!(value(&span, key), None, "{key}");
        }
        assert!(
            span.attributes
                .iter()
                .all(|a| !a.key.starts_with("faasrt.stage.")),
            "an invocation is no stage: {:?}",
            span.attributes
        );
        let measured = SpanFields {
            cpu_ns: Some(0),
            peak_memory_bytes: Some(65_536),
            hw: [Some(1_000), Some(800), None],
            ..record()
        };
        let span = SpanMaker::new(WallClock::with_offset(0)).span(&measured);
        assert_eq!(
            int_of(&span, "faasrt.cpu_ns"),
            Some(0),
            "a measured 0 is sent"
        );
        assert_eq!(int_of(&span, "faasrt.peak_memory_bytes"), Some(65_536));
        assert_eq!(int_of(&span, "faasrt.cycles"), Some(1_000));
        assert_eq!(int_of(&span, "faasrt.instructions"), Some(800));
        assert_eq!(value(&span, "faasrt.llc_misses"), None);
    }

    #[test]
    fn an_outcome_other_than_success_is_an_error_status() {
        let mut maker = SpanMaker::new(WallClock::with_offset(0));
        for (outcome, exit_code) in [("exit", 3), ("trap", 134), ("timeout", 124)] {
            let failed = SpanFields {
                outcome,
                exit_code,
                ..record()
            };
            let status = maker.span(&failed).status.expect("a status");
            assert_eq!(status.code, StatusCode::Error as i32, "{outcome}");
            assert_eq!(status.message, format!("{outcome} (exit code {exit_code})"));
        }
    }

    #[test]
    fn a_callers_traceparent_gives_the_trace_and_parent() {
        let trace =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let traced = SpanFields {
            trace: Some(trace),
            ..record()
        };
        let mut maker = SpanMaker::new(WallClock::with_offset(0));
        let (first, second) = (maker.span(&traced), maker.span(&traced));
        assert_eq!(first.trace_id, trace.trace_id.to_vec());
        assert_eq!(first.parent_span_id, trace.parent_id.to_vec());
        assert_eq!(first.flags & 0xff, 1, "the caller's flags");
        assert_ne!(first.flags & SpanFlags::ContextIsRemoteMask as u32, 0);
        assert_ne!(first.span_id, second.span_id, "span ids are fresh");
    }

    #[test]
    fn stages_of_one_run_share_a_trace_and_invocations_get_their_own() {
        let stage = |run, index| SpanFields {
            stage: Some(StageFields {
                run,
                index,
                stages: 2,
                input_edge: if index == 0 { "caller" } else { "pipe" },
                output_edge: if index == 0 { "pipe" } else { "caller" },
                blocked_read_ns: 40,
                blocked_write_ns: 0,
            }),
            ..record()
        };
        let mut maker = SpanMaker::new(WallClock::with_offset(0));
        let (a0, a1, b0) = (
            maker.span(&stage(10, 0)),
            maker.span(&stage(10, 1)),
            maker.span(&stage(12, 0)),
        );
        assert_eq!(a0.trace_id, a1.trace_id);
        assert_ne!(a0.trace_id, b0.trace_id);
        assert_eq!(int_of(&a1, "faasrt.stage.index"), Some(1));
        assert_eq!(int_of(&a1, "faasrt.stage.stages"), Some(2));
        assert_eq!(int_of(&a1, "faasrt.stage.run"), Some(10));
        assert_eq!(text_of(&a1, "faasrt.stage.input_edge"), Some("pipe"));
        assert_eq!(text_of(&a1, "faasrt.stage.output_edge"), Some("caller"));
        assert_eq!(int_of(&a1, "faasrt.stage.blocked_read_ns"), Some(40));
        let (one, two) = (maker.span(&record()), maker.span(&record()));
        assert_ne!(one.trace_id, two.trace_id);
    }

    #[test]
    fn the_wall_clock_is_the_system_clock_at_the_moment_measured() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let clock = WallClock::measure(5_000);
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let now = clock.unix_ns(5_000);
        assert!(before <= now && now <= after, "{before} {now} {after}");
        assert_eq!(clock.unix_ns(6_000) - now, 1_000);
    }

    #[test]
    fn the_resource_names_the_service_and_host() {
        let named = |resource: &Resource, key: &str| {
            resource
                .attributes
                .iter()
                .find(|a| a.key == key)
                .and_then(|a| a.value.clone()?.value)
        };
        let with_host = resource(Some("box"));
        assert_eq!(
            named(&with_host, "service.name"),
            Some(Value::StringValue("faasrt".into()))
        );
        assert_eq!(
            named(&with_host, "host.name"),
            Some(Value::StringValue("box".into()))
        );
        assert_eq!(named(&resource(None), "host.name"), None);
    }
}
