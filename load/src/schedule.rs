//! The whole run's invocations, generated before the run and saved, so a
//! run can be repeated and every record compared with when its invocation
//! was meant to be sent (latency free of coordinated omission).

use crate::arrival::{Spread, function_arrivals, function_rng};
use crate::demand::Demand;
use crate::error::TraceError;
use crate::trace::{azure2019::MinuteCounts, azure2021, faasload};
use std::io::Write;
use std::ops::Range;
use std::path::Path;

/// One invocation to send.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledInvocation {
    /// When to send it, in nanoseconds from the run's start.
    pub at_ns: u64,
    /// Which function: an index into [`Schedule::functions`].
    pub function: u32,
    /// Its input where the workload gives one (FaaSLoad traces).
    pub input: Option<String>,
    /// What it asks of a stand-in function, where the workload says (a
    /// trace's durations and memory): what the calibrated synthetic guest
    /// is told to do.
    pub demand: Option<Demand>,
}

/// Every invocation of a run, in send order, and the trace functions they
/// belong to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    functions: Vec<String>,
    entries: Vec<ScheduledInvocation>,
}

/// How a schedule compares with the workload it was drawn from.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Functions with at least one invocation.
    pub functions: usize,
    /// Invocations in the schedule.
    pub scheduled: u64,
    /// Invocations the workload asked for (the trace's counts).
    pub requested: u64,
    /// From the first to the last send time, in seconds.
    pub span_s: f64,
    /// The highest number of sends in one second of the schedule.
    pub peak_per_s: u64,
}

impl Schedule {
    /// The schedule of the minutes `minutes` (0-based, end excluded) of an
    /// Azure 2019 invocations trace, spread by `spread` with each
    /// function's generator seeded from `seed` and its id. Times start at
    /// the window's first minute.
    pub fn from_minute_counts(
        rows: &[MinuteCounts],
        minutes: Range<usize>,
        spread: Spread,
        seed: u64,
    ) -> Schedule {
        let per_function = rows
            .iter()
            .filter_map(|row| {
                let end = minutes.end.min(row.per_minute.len());
                let window = &row.per_minute[minutes.start.min(end)..end];
                if window.iter().all(|&c| c == 0) {
                    return None;
                }
                let id = row.function.id();
                let mut times = Vec::new();
                function_arrivals(window, spread, &mut function_rng(seed, &id), &mut times);
                Some((id, None, times))
            })
            .collect();
        Schedule::from_times(per_function)
    }

    /// The schedule of an Azure 2021 trace: each invocation at its start
    /// time, from the first start on, within the first `seconds` seconds
    /// (all of them for `None`), its duration as its demand.
    pub fn from_invocations(rows: &[azure2021::Invocation], seconds: Option<f64>) -> Schedule {
        Schedule::from_requests(
            rows.iter().map(|row| {
                let demand = Demand {
                    duration_us: (row.duration_s * 1e6).round() as u64,
                    ..Demand::default()
                };
                (row.function.id(), row.start_s, Some(demand))
            }),
            seconds,
        )
    }

    /// The schedule of per-request rows `(function id, start in seconds,
    /// demand)` in any order: each at its start, from the first start on,
    /// within the first `seconds` seconds (all for `None`).
    pub fn from_requests(
        rows: impl Iterator<Item = (String, f64, Option<Demand>)> + Clone,
        seconds: Option<f64>,
    ) -> Schedule {
        let mut schedule = Schedule::default();
        let Some(first) = rows.clone().map(|(_, start, _)| start).reduce(f64::min) else {
            return schedule;
        };
        let mut ids = std::collections::HashMap::new();
        for (id, start_s, demand) in rows {
            let offset = start_s - first;
            if seconds.is_some_and(|limit| offset >= limit) {
                continue;
            }
            let function = schedule.function_index(&mut ids, id);
            schedule.entries.push(ScheduledInvocation {
                at_ns: seconds_to_ns(offset),
                function,
                input: None,
                demand,
            });
        }
        schedule.sort();
        schedule
    }

    /// The schedule of FaaSLoad traces, one `(function, entries)` per user
    /// file, each from the run's start: an entry is sent its `wait` after
    /// the previous entry of the same file.
    pub fn from_faasload(traces: &[(String, Vec<faasload::Entry>)]) -> Schedule {
        let mut schedule = Schedule::default();
        for (name, entries) in traces {
            let function = schedule.add_function(name.clone());
            let mut at = std::time::Duration::ZERO;
            for entry in entries {
                at += entry.wait;
                schedule.entries.push(ScheduledInvocation {
                    at_ns: u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
                    function,
                    input: Some(entry.input.clone()),
                    demand: None,
                });
            }
        }
        schedule.sort();
        schedule
    }

    /// The schedule of `(function, input, send times in seconds)` per
    /// function, all from the run's start.
    pub fn from_times(per_function: Vec<(String, Option<String>, Vec<f64>)>) -> Schedule {
        let mut schedule = Schedule::default();
        for (name, input, times) in per_function {
            if times.is_empty() {
                continue;
            }
            let function = schedule.add_function(name);
            schedule
                .entries
                .extend(times.iter().map(|&t| ScheduledInvocation {
                    at_ns: seconds_to_ns(t),
                    function,
                    input: input.clone(),
                    demand: None,
                }));
        }
        schedule.sort();
        schedule
    }

    /// The trace functions, by index.
    pub fn functions(&self) -> &[String] {
        &self.functions
    }

    /// The invocations, in send order.
    pub fn entries(&self) -> &[ScheduledInvocation] {
        &self.entries
    }

    /// Each invocation's function index and demand, in send order, to set.
    pub fn demands_mut(&mut self) -> impl Iterator<Item = (u32, &mut Option<Demand>)> {
        self.entries
            .iter_mut()
            .map(|entry| (entry.function, &mut entry.demand))
    }

    /// This schedule with each invocation's input replaced by `input_of`
    /// it (the calibrated synthetic guest's parameters for its demand).
    pub fn with_inputs(&self, input_of: impl Fn(&ScheduledInvocation) -> Option<String>) -> Self {
        let mut schedule = self.clone();
        for entry in &mut schedule.entries {
            entry.input = input_of(entry);
        }
        schedule
    }

    /// How the schedule compares with `requested` invocations.
    pub fn summary(&self, requested: u64) -> Summary {
        let mut functions = vec![false; self.functions.len()];
        let mut peak = 0u64;
        let mut second = u64::MAX;
        let mut in_second = 0u64;
        for entry in &self.entries {
            functions[entry.function as usize] = true;
            let this = entry.at_ns / 1_000_000_000;
            if this == second {
                in_second += 1;
            } else {
                second = this;
                in_second = 1;
            }
            peak = peak.max(in_second);
        }
        let span_ns = match (self.entries.first(), self.entries.last()) {
            (Some(first), Some(last)) => last.at_ns - first.at_ns,
            _ => 0,
        };
        Summary {
            functions: functions.iter().filter(|&&used| used).count(),
            scheduled: self.entries.len() as u64,
            requested,
            span_s: span_ns as f64 / 1e9,
            peak_per_s: peak,
        }
    }

    /// Writes the schedule as CSV: `scheduled_ns,function,input`, the
    /// function by its trace id, then the demand, `duration_us,
    /// memory_bytes,input_bytes,output_bytes` (empty without one).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
        writer.write_record(
            ["scheduled_ns", "function", "input"]
                .iter()
                .chain(&DEMAND_COLUMNS),
        )?;
        for entry in &self.entries {
            let at = entry.at_ns.to_string();
            let demand = entry.demand.map(|d| {
                [d.duration_us, d.memory_bytes, d.input_bytes, d.output_bytes]
                    .map(|v| v.to_string())
            });
            let demand = demand.as_ref();
            let field = |i: usize| demand.map_or("", |d| d[i].as_str());
            writer.write_record([
                at.as_str(),
                &self.functions[entry.function as usize],
                entry.input.as_deref().unwrap_or(""),
                field(0),
                field(1),
                field(2),
                field(3),
            ])?;
        }
        writer.into_inner().map_err(|e| e.into_error())?.flush()
    }

    /// Reads a schedule that [`Schedule::write_csv`] wrote.
    ///
    /// # Errors
    /// [`TraceError`] naming the line: a send time that is not a whole
    /// number of nanoseconds, or that goes back in time.
    pub fn read_csv(path: &Path) -> Result<Schedule, TraceError> {
        let table = crate::table::Table::open(path, "faasrt-load schedule")?;
        let at = table.column("scheduled_ns")?;
        let function = table.column("function")?;
        let input = table.column("input")?;
        // Schedules written before demands existed have none.
        let demand = DEMAND_COLUMNS.map(|name| table.column(name).ok());
        let mut schedule = Schedule::default();
        let mut ids = std::collections::HashMap::new();
        let mut last = 0;
        table.for_each_row(|row| {
            let at_ns: u64 = row.parse(at, "scheduled_ns")?;
            if at_ns < last {
                return Err(row.error(format!(
                    "scheduled_ns {at_ns} is before the previous row's {last}"
                )));
            }
            last = at_ns;
            let id = row.required(function, "function")?;
            let function = schedule.function_index(&mut ids, id);
            let input = Some(row.text(input))
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let demand = read_demand(row, &demand)?;
            schedule.entries.push(ScheduledInvocation {
                at_ns,
                function,
                input,
                demand,
            });
            Ok(())
        })?;
        Ok(schedule)
    }

    /// The index of function `id`, added on first sight; `ids` remembers
    /// the ones seen.
    fn function_index(
        &mut self,
        ids: &mut std::collections::HashMap<String, u32>,
        id: String,
    ) -> u32 {
        match ids.get(&id) {
            Some(&index) => index,
            None => {
                let index = self.add_function(id.clone());
                ids.insert(id, index);
                index
            }
        }
    }

    fn add_function(&mut self, id: String) -> u32 {
        self.functions.push(id);
        u32::try_from(self.functions.len() - 1).expect("fewer than 4 billion functions")
    }

    /// Send order; ties keep the order of generation (stable).
    fn sort(&mut self) {
        self.entries.sort_by_key(|entry| entry.at_ns);
    }
}

/// The demand's columns, in [`Demand`]'s order.
const DEMAND_COLUMNS: [&str; 4] = ["duration_us", "memory_bytes", "input_bytes", "output_bytes"];

/// A row's demand: none when its demand columns are absent or all empty.
fn read_demand(
    row: &crate::table::Row<'_>,
    columns: &[Option<usize>; 4],
) -> Result<Option<Demand>, TraceError> {
    let mut values = [0u64; 4];
    let mut any = false;
    for ((value, column), name) in values.iter_mut().zip(columns).zip(DEMAND_COLUMNS) {
        if let Some(column) = *column
            && !row.text(column).is_empty()
        {
            *value = row.parse(column, name)?;
            any = true;
        }
    }
    let [duration_us, memory_bytes, input_bytes, output_bytes] = values;
    Ok(any.then_some(Demand {
        duration_us,
        memory_bytes,
        input_bytes,
        output_bytes,
    }))
}

fn seconds_to_ns(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}
