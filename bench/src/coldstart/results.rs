//! The results of `faasrt-bench coldstart`: what each mode measured, the
//! rows made from it (each with its ratio to the baseline of the same
//! subject in the same run), and their output: the table (or CSV/JSON) on
//! stdout and `coldstart.{csv,json,svg}` under `--out`.

use crate::report::{self, Bar, Format, Row};
use crate::stats::Samples;
use serde::Serialize;
use std::path::Path;

/// What one mode measured for one subject.
pub(super) struct Measured {
    /// The subject's name, or `restart-50`.
    pub(super) subject: String,
    /// The start mode (`process`, `preinit`, `artifacts`, ...).
    pub(super) mode: &'static str,
    /// Start-to-answer latencies.
    pub(super) samples: Samples,
    /// The largest peak RSS of the process modes, in KiB.
    pub(super) peak_rss_kib: Option<u64>,
}

/// One result row. `--format json` prints exactly the fields `subject,
/// mode, n, p50_us, p99_us, max_us, ratio_to_preinit`; CSV adds the peak
/// RSS of process modes.
#[derive(Debug, Serialize)]
pub(super) struct ColdstartRow {
    subject: String,
    mode: String,
    n: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// p50 of this row over p50 of `preinit` for the same subject (for
    /// `restart-50`: over `artifacts`).
    ratio_to_preinit: Option<f64>,
    #[serde(skip)]
    peak_rss_kib: Option<u64>,
}

impl Row for ColdstartRow {
    fn header() -> &'static [&'static str] {
        &[
            "subject",
            "mode",
            "n",
            "p50_us",
            "p99_us",
            "max_us",
            "ratio_to_preinit",
            "peak_rss_kib",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.subject.clone(),
            self.mode.clone(),
            self.n.to_string(),
            format!("{:.1}", self.p50_us),
            format!("{:.1}", self.p99_us),
            format!("{:.1}", self.max_us),
            self.ratio_to_preinit
                .map_or("n/a".into(), |r| format!("{r:.1}")),
            self.peak_rss_kib.map_or("n/a".into(), |r| r.to_string()),
        ]
    }
}

/// Prints the rows of `measured` on stdout in `format` and writes
/// `coldstart.{csv,json,svg}` under `out`.
pub(super) fn print_and_write(
    measured: &[Measured],
    format: Format,
    out: &Path,
) -> anyhow::Result<()> {
    let rows = rows(measured);
    print!("{}", report::render(&rows, format)?);
    report::write_files(&rows, out, "coldstart")?;
    write_chart(measured, out)?;
    eprintln!("wrote {}/coldstart.{{csv,json,svg}}", out.display());
    Ok(())
}

/// One row per measurement, with the ratio of its p50 to the baseline's.
fn rows(measured: &[Measured]) -> Vec<ColdstartRow> {
    measured
        .iter()
        .map(|m| {
            let baseline_mode = if m.subject == "restart-50" {
                "artifacts"
            } else {
                "preinit"
            };
            let baseline = measured
                .iter()
                .find(|b| b.subject == m.subject && b.mode == baseline_mode)
                .map(|b| b.samples.quantile_us(0.5));
            let p50 = m.samples.quantile_us(0.5);
            ColdstartRow {
                subject: m.subject.clone(),
                mode: m.mode.to_owned(),
                n: m.samples.len(),
                p50_us: p50,
                p99_us: m.samples.quantile_us(0.99),
                max_us: m.samples.max_us(),
                ratio_to_preinit: baseline.map(|b| p50 / b),
                peak_rss_kib: m.peak_rss_kib,
            }
        })
        .collect()
}

/// `coldstart.svg`: the p50 of every mode of every subject (the restart
/// case left out), on a log scale.
fn write_chart(measured: &[Measured], out: &Path) -> anyhow::Result<()> {
    let bars: Vec<Bar> = measured
        .iter()
        .filter(|m| m.subject != "restart-50")
        .map(|m| Bar {
            label: format!("{} {}", m.subject, m.mode),
            value: m.samples.quantile_us(0.5),
        })
        .collect();
    report::bar_chart_log(
        &out.join("coldstart.svg"),
        "start to answer, p50 (log scale)",
        "microseconds",
        &bars,
    )
}
