//! A run as a dataset: `invocations.parquet` (one row per invocation sent,
//! the injector's view joined with the server's journal record by trace
//! id), `platform.parquet` (the server's platform series) and the SVG plots
//! (`plots`). The CSV files next to them carry the same columns.

mod parquet_table;
pub mod plots;

pub use parquet_table::{ParquetError, Table, Values};

use crate::demand::Demand;
use crate::platform_series::PlatformSample;
use crate::record::Record;
use crate::server_journal::ServerRecord;
use std::collections::HashMap;

/// The table of `invocations.{csv,parquet}`: the injector's view of each
/// invocation, then the server's journal record of it (null where the
/// invocation has no server record: never answered, or lost by the feed).
///
/// `demands` holds each schedule entry's demand by index (empty for a run
/// without a schedule): the `demand_*` columns, what the trace asked of
/// the invocation, beside what it took.
pub fn invocations_table(
    records: &[Record],
    server: &HashMap<String, ServerRecord>,
    demands: &[Option<Demand>],
) -> Table {
    let trace_ids: Vec<String> = records.iter().map(Record::trace_id).collect();
    let joined: Vec<Option<&ServerRecord>> = trace_ids.iter().map(|id| server.get(id)).collect();
    let u64s = |f: fn(&Record) -> u64| Values::U64(records.iter().map(|r| Some(f(r))).collect());
    let texts =
        |f: fn(&Record) -> String| Values::Text(records.iter().map(|r| Some(f(r))).collect());
    let server_u64 = |f: fn(&ServerRecord) -> Option<u64>| {
        Values::U64(joined.iter().map(|s| s.and_then(f)).collect())
    };
    let server_text =
        |f: fn(&ServerRecord) -> String| Values::Text(joined.iter().map(|s| s.map(f)).collect());
    let mut table = Table::default();
    table
        .required("index", u64s(|r| r.index))
        .required(
            "trace_id",
            Values::Text(trace_ids.iter().cloned().map(Some).collect()),
        )
        .required("trace_function", texts(|r| r.trace_function.to_string()))
        .required("function", texts(|r| r.function.to_string()))
        .required("scheduled_ns", u64s(|r| r.scheduled_ns))
        .required("sent_ns", u64s(|r| r.sent_ns))
        .required("done_ns", u64s(|r| r.done_ns))
        .required("latency_ns", u64s(Record::latency_ns))
        .required("send_lag_ns", u64s(Record::send_lag_ns))
        .required(
            "status",
            Values::I32(records.iter().map(|r| Some(i32::from(r.status))).collect()),
        )
        .required("request_bytes", u64s(|r| r.request_bytes))
        .required("response_bytes", u64s(|r| r.response_bytes))
        .nullable(
            "error",
            Values::Text(records.iter().map(|r| r.error.clone()).collect()),
        )
        .nullable("seq", server_u64(|s| Some(s.seq)))
        .nullable("start_kind", server_text(|s| s.start_kind.clone()))
        .nullable("server_arrival_ns", server_u64(|s| Some(s.arrival_ns)))
        .nullable("server_start_ns", server_u64(|s| Some(s.start_ns)))
        .nullable("server_dequeue_ns", server_u64(|s| Some(s.dequeue_ns)))
        .nullable("server_ready_ns", server_u64(|s| Some(s.ready_ns)))
        .nullable("server_end_ns", server_u64(|s| Some(s.end_ns)))
        .nullable("server_reply_ns", server_u64(|s| Some(s.reply_ns)))
        .nullable(
            "server_queue_ns",
            server_u64(|s| Some(s.start_ns.saturating_sub(s.arrival_ns))),
        )
        .nullable(
            "server_run_ns",
            server_u64(|s| Some(s.end_ns.saturating_sub(s.start_ns))),
        )
        .nullable("outcome", server_text(|s| s.outcome.clone()))
        .nullable("cpu_ns", server_u64(|s| s.cpu_ns))
        .nullable("peak_memory_bytes", server_u64(|s| s.peak_memory_bytes))
        .nullable("cycles", server_u64(|s| s.cycles))
        .nullable("instructions", server_u64(|s| s.instructions))
        .nullable("llc_misses", server_u64(|s| s.llc_misses));
    let demand = |f: fn(&Demand) -> u64| {
        Values::U64(
            records
                .iter()
                .map(|r| {
                    let index = usize::try_from(r.index).ok()?;
                    demands.get(index).copied().flatten().as_ref().map(f)
                })
                .collect(),
        )
    };
    table
        .nullable("demand_duration_us", demand(|d| d.duration_us))
        .nullable("demand_memory_bytes", demand(|d| d.memory_bytes));
    table
}

/// The table of `platform.{csv,parquet}`: one row per platform sample.
pub fn platform_table(samples: &[PlatformSample]) -> Table {
    let u64s =
        |f: fn(&PlatformSample) -> u64| Values::U64(samples.iter().map(|s| Some(f(s))).collect());
    let mut table = Table::default();
    table
        .required("seq", u64s(|s| s.seq))
        .required("time_ns", u64s(|s| s.time_ns))
        .required("interval_ns", u64s(|s| s.interval_ns))
        .nullable(
            "process_cpu",
            Values::F64(samples.iter().map(|s| s.process_cpu).collect()),
        )
        .nullable(
            "rss_bytes",
            Values::U64(samples.iter().map(|s| s.rss_bytes).collect()),
        )
        .required("instance_slots", u64s(|s| s.instance_slots))
        .required("instance_slots_in_use", u64s(|s| s.instance_slots_in_use))
        .required("in_flight_total", u64s(|s| s.in_flight.values().sum()));
    for outcome in crate::platform_series::OUTCOMES {
        table.required(
            &format!("ended_{outcome}"),
            Values::U64(
                samples
                    .iter()
                    .map(|s| Some(s.ended.get(outcome).copied().unwrap_or(0)))
                    .collect(),
            ),
        );
    }
    table
        .required("rejected", u64s(|s| s.rejected))
        .required("kills", u64s(|s| s.kills))
        .required("seccomp_denials", u64s(|s| s.seccomp_denials))
        .required("native_processes", u64s(|s| s.native_processes))
        .required("open_fds", u64s(|s| s.open_fds))
        .required("live_pipes", u64s(|s| s.live_pipes))
        .required("pipe_buffered_bytes", u64s(|s| s.pipe_buffered_bytes))
        .required(
            "in_flight",
            Values::Text(
                samples
                    .iter()
                    .map(|s| Some(serde_json::to_string(&s.in_flight).expect("a map serializes")))
                    .collect(),
            ),
        );
    let cores = samples.iter().map(|s| s.cpu_busy.len()).max().unwrap_or(0);
    for core in 0..cores {
        table.nullable(
            &format!("cpu{core}_busy"),
            Values::F64(
                samples
                    .iter()
                    .map(|s| s.cpu_busy.get(core).copied())
                    .collect(),
            ),
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    fn record(index: u64) -> Record {
        Record {
            index,
            trace_function: "t".into(),
            trace: crate::TraceIds { run_id: 7, index },
            function: "hello".into(),
            scheduled_ns: 100,
            sent_ns: 110,
            done_ns: 200,
            status: 200,
            request_bytes: 3,
            response_bytes: 14,
            error: None,
        }
    }

    #[test]
    fn an_invocation_joins_its_server_record_or_has_nulls() {
        let server = ServerRecord {
            seq: 9,
            start_kind: "snapshot".into(),
            arrival_ns: 1_000,
            dequeue_ns: 1_005,
            start_ns: 1_010,
            ready_ns: 1_020,
            end_ns: 1_050,
            reply_ns: 1_060,
            outcome: "ok".into(),
            cpu_ns: Some(30),
            peak_memory_bytes: Some(65_536),
            cycles: Some(5),
            trace: Some(record(0).trace_id()),
            ..ServerRecord::default()
        };
        let records = [record(0), record(1)];
        let demand = Demand {
            duration_us: 7,
            ..Demand::default()
        };
        let table = invocations_table(
            &records,
            &HashMap::from([(record(0).trace_id(), server)]),
            &[Some(demand)],
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invocations.parquet");
        table.write(&path).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let column = |name: &str| {
            (0..schema.num_columns())
                .find(|&i| schema.column(i).name() == name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[0].get_ulong(column("latency_ns")).unwrap(), 100);
        assert_eq!(rows[0].get_ulong(column("server_queue_ns")).unwrap(), 10);
        assert_eq!(
            rows[0].get_string(column("start_kind")).unwrap(),
            "snapshot"
        );
        assert_eq!(
            rows[0].get_ulong(column("peak_memory_bytes")).unwrap(),
            65_536
        );
        assert!(
            rows[1].get_ulong(column("seq")).is_err(),
            "no server record: null"
        );
        assert_eq!(rows[1].get_int(column("status")).unwrap(), 200);
        assert_eq!(rows[0].get_ulong(column("demand_duration_us")).unwrap(), 7);
        assert_eq!(
            rows[0].get_ulong(column("server_dequeue_ns")).unwrap(),
            1_005
        );
        assert_eq!(rows[0].get_ulong(column("server_reply_ns")).unwrap(), 1_060);
        assert_eq!(rows[0].get_ulong(column("cycles")).unwrap(), 5);
        assert!(
            rows[0].get_ulong(column("instructions")).is_err(),
            "not counted: null"
        );
        assert!(
            rows[1].get_ulong(column("demand_duration_us")).is_err(),
            "no demand: null"
        );
    }
}
