//! The run's SVG plots: the latency CDF per function, throughput and
//! latency over time, how invocations started, and the server's memory.

use crate::platform_series::PlatformSample;
use crate::record::Record;
use crate::server_journal::ServerRecord;
use plotters::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Functions drawn in the CDF at most (the most invoked).
const CDF_FUNCTIONS: usize = 8;

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

fn drawing<T: std::fmt::Debug>(path: &Path) -> impl Fn(T) -> PlotError + '_ {
    move |error| PlotError {
        path: path.display().to_string(),
        message: format!("{error:?}"),
    }
}

/// Draws `latency_cdf.svg`, `over_time.svg`, `start_kinds.svg` and (with
/// platform samples) `memory.svg` into `out`.
///
/// # Errors
/// [`PlotError`].
pub fn draw_all(
    out: &Path,
    records: &[Record],
    server: &HashMap<String, ServerRecord>,
    samples: &[PlatformSample],
) -> Result<(), PlotError> {
    latency_cdf(&out.join("latency_cdf.svg"), records)?;
    over_time(&out.join("over_time.svg"), records)?;
    start_kinds(&out.join("start_kinds.svg"), server)?;
    if !samples.is_empty() {
        memory(&out.join("memory.svg"), samples)?;
    }
    Ok(())
}

/// Each function's latency (from the scheduled time) as a CDF, on a log
/// axis in milliseconds.
fn latency_cdf(path: &Path, records: &[Record]) -> Result<(), PlotError> {
    let fail = drawing(path);
    let mut by_function: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.succeeded()) {
        by_function
            .entry(&record.function)
            .or_default()
            .push(record.latency_ns() as f64 / 1e6);
    }
    let mut functions: Vec<(&str, Vec<f64>)> = by_function.into_iter().collect();
    functions.sort_by_key(|(_, l)| std::cmp::Reverse(l.len()));
    functions.truncate(CDF_FUNCTIONS);
    let all = functions.iter().flat_map(|(_, l)| l.iter().copied());
    let (low, high) = all.fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (low, high) = if high > 0.0 {
        ((low * 0.8).max(1e-3), high * 1.25)
    } else {
        (1e-3, 1.0)
    };
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(&fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency from the scheduled send time", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d((low..high).log_scale(), 0f64..1f64)
        .map_err(&fail)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("fraction of invocations")
        .draw()
        .map_err(&fail)?;
    for (i, (function, mut latencies)) in functions.into_iter().enumerate() {
        latencies.sort_by(f64::total_cmp);
        let n = latencies.len() as f64;
        let color = Palette99::pick(i);
        chart
            .draw_series(LineSeries::new(
                latencies
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| (x, (k + 1) as f64 / n)),
                color.stroke_width(2),
            ))
            .map_err(&fail)?
            .label(format!("{function} ({} ok)", latencies.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(&fail)?;
    root.present().map_err(&fail)
}

/// Per second of the run: invocations answered (top) and the p50 and p99
/// latency of those answered in that second (bottom).
fn over_time(path: &Path, records: &[Record]) -> Result<(), PlotError> {
    let fail = drawing(path);
    let mut seconds: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.succeeded()) {
        seconds
            .entry(record.done_ns / 1_000_000_000)
            .or_default()
            .push(record.latency_ns() as f64 / 1e6);
    }
    let last = seconds.keys().next_back().copied().unwrap_or(0) + 1;
    let throughput: Vec<(f64, f64)> = (0..last)
        .map(|s| (s as f64, seconds.get(&s).map_or(0, Vec::len) as f64))
        .collect();
    let quantile = |latencies: &mut Vec<f64>, q: f64| {
        latencies.sort_by(f64::total_cmp);
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for (second, mut latencies) in seconds {
        p50.push((second as f64, quantile(&mut latencies, 0.50)));
        p99.push((second as f64, quantile(&mut latencies, 0.99)));
    }
    let top_rate = throughput.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let top_latency = p99.iter().map(|p| p.1).fold(1e-3, f64::max) * 1.1;
    let root = SVGBackend::new(path, (960, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(&fail)?;
    let (upper, lower) = root.split_vertically(360);
    let mut rate = ChartBuilder::on(&upper)
        .caption("Invocations answered per second", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..last as f64, 0f64..top_rate)
        .map_err(&fail)?;
    rate.configure_mesh()
        .x_desc("time (s)")
        .y_desc("per second")
        .draw()
        .map_err(&fail)?;
    rate.draw_series(LineSeries::new(throughput, BLUE.stroke_width(2)))
        .map_err(&fail)?;
    let mut latency = ChartBuilder::on(&lower)
        .caption(
            "Latency of the invocations answered in each second",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..last as f64, 0f64..top_latency)
        .map_err(&fail)?;
    latency
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms)")
        .draw()
        .map_err(&fail)?;
    for (points, color, label) in [(p50, GREEN, "p50"), (p99, RED, "p99")] {
        latency
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(&fail)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    latency
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&fail)?;
    root.present().map_err(&fail)
}

/// How the invocations the server recorded started (`snapshot`,
/// `instance`, `fork-exec`), as bars.
fn start_kinds(path: &Path, server: &HashMap<String, ServerRecord>) -> Result<(), PlotError> {
    let fail = drawing(path);
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for record in server.values() {
        *kinds.entry(&record.start_kind).or_default() += 1;
    }
    let top = kinds.values().copied().max().unwrap_or(1) as f64 * 1.15;
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(&fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "How invocations started (server journal)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..kinds.len().max(1) as f64, 0f64..top)
        .map_err(&fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("invocations")
        .draw()
        .map_err(&fail)?;
    for (i, (kind, count)) in kinds.iter().enumerate() {
        let x = i as f64;
        chart
            .draw_series([Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, *count as f64)],
                Palette99::pick(i).filled(),
            )])
            .map_err(&fail)?;
        chart
            .draw_series([Text::new(
                format!("{kind}: {count}"),
                (x + 0.22, *count as f64 + top * 0.02),
                ("sans-serif", 14),
            )])
            .map_err(&fail)?;
    }
    root.present().map_err(&fail)
}

/// The server's resident memory and the instance slots in use over the
/// run, from its platform samples.
fn memory(path: &Path, samples: &[PlatformSample]) -> Result<(), PlotError> {
    let fail = drawing(path);
    let start = samples.first().map_or(0, |s| s.time_ns);
    let seconds = |s: &PlatformSample| s.time_ns.saturating_sub(start) as f64 / 1e9;
    let rss: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| Some((seconds(s), s.rss_bytes? as f64 / (1 << 20) as f64)))
        .collect();
    let end = samples.last().map_or(1.0, seconds).max(1.0);
    let top = rss.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(&fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Server resident memory", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..top)
        .map_err(&fail)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("RSS (MiB)")
        .draw()
        .map_err(&fail)?;
    chart
        .draw_series(LineSeries::new(rss, MAGENTA.stroke_width(2)))
        .map_err(&fail)?;
    root.present().map_err(&fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plot_is_an_svg_that_names_its_functions() {
        let records: Vec<Record> = (0..200u64)
            .map(|i| Record {
                index: i,
                trace_function: "t".into(),
                trace: crate::TraceIds {
                    run_id: 1,
                    index: i,
                },
                function: if i % 2 == 0 {
                    "hello".into()
                } else {
                    "upper".into()
                },
                scheduled_ns: i * 10_000_000,
                sent_ns: i * 10_000_000 + 1_000,
                done_ns: i * 10_000_000 + 500_000 + i * 1_000,
                status: 200,
                request_bytes: 0,
                response_bytes: 14,
                error: None,
            })
            .collect();
        let server: HashMap<String, ServerRecord> = records
            .iter()
            .map(|r| {
                (
                    r.trace_id(),
                    ServerRecord {
                        seq: r.index,
                        start_kind: "snapshot".into(),
                        arrival_ns: 0,
                        start_ns: 1,
                        ready_ns: 2,
                        end_ns: 3,
                        outcome: "ok".into(),
                        trace: Some(r.trace_id()),
                        ..ServerRecord::default()
                    },
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        draw_all(dir.path(), &records, &server, &[]).unwrap();
        let cdf = std::fs::read_to_string(dir.path().join("latency_cdf.svg")).unwrap();
        assert!(cdf.starts_with("<svg"), "{}", &cdf[..40]);
        assert!(cdf.contains("hello (100 ok)") && cdf.contains("upper (100 ok)"));
        let kinds = std::fs::read_to_string(dir.path().join("start_kinds.svg")).unwrap();
        assert!(kinds.contains("snapshot: 200"));
        assert!(dir.path().join("over_time.svg").exists());
        assert!(
            !dir.path().join("memory.svg").exists(),
            "no samples, no memory plot"
        );
    }
}
