//! Writing benchmark rows as a table, CSV or JSON, and an SVG bar chart.

use anyhow::Context;
use plotters::prelude::*;
use serde::Serialize;
use std::path::Path;

/// How results are printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// A benchmark result row: its fields in column order, as text.
pub trait Row: Serialize {
    /// Column names, matching the serialized field names.
    fn header() -> &'static [&'static str];
    /// The row's cells, formatted.
    fn cells(&self) -> Vec<String>;
}

/// Renders `rows` in `format`.
pub fn render<R: Row>(rows: &[R], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(rows)? + "\n",
        Format::Csv => csv(rows),
        Format::Table => table(rows),
    })
}

fn csv<R: Row>(rows: &[R]) -> String {
    let mut text = R::header().join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.cells().join(","));
        text.push('\n');
    }
    text
}

fn table<R: Row>(rows: &[R]) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(Row::cells).collect();
    let widths: Vec<usize> = R::header()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            cells
                .iter()
                .map(|r| r[i].len())
                .chain([name.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut text = line(R::header().to_vec());
    text.push('\n');
    for row in &cells {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
        text.push('\n');
    }
    text
}

/// Writes `rows` as `<stem>.csv` and `<stem>.json` under `dir`.
pub fn write_files<R: Row>(rows: &[R], dir: &Path, stem: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(format!("{stem}.csv")), csv(rows))?;
    std::fs::write(
        dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(rows)? + "\n",
    )?;
    Ok(())
}

/// One bar of a chart.
pub struct Bar {
    /// Label under the bar.
    pub label: String,
    /// Its height.
    pub value: f64,
}

/// Draws a bar chart as SVG at `path`.
pub fn bar_chart(path: &Path, title: &str, y_label: &str, bars: &[Bar]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|b| b.value).fold(0.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(90)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..bars.len() as f64, 0f64..top.max(1.0))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc(y_label)
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.15, 0.0), (x + 0.85, bar.value)],
            Palette99::pick(i).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.0}", bar.value),
            (x + 0.2, bar.value + top * 0.02),
            ("sans-serif", 14),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            bar.label.clone(),
            (x + 0.1, -top * 0.06),
            ("sans-serif", 13),
        )))?;
    }
    root.present()?;
    Ok(())
}

/// Draws a bar chart with a logarithmic value axis as SVG at `path`, for
/// values that span orders of magnitude; each bar is labelled with its value.
pub fn bar_chart_log(path: &Path, title: &str, unit: &str, bars: &[Bar]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1280, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|b| b.value).fold(1.0, f64::max) * 3.0;
    let bottom = bars
        .iter()
        .map(|b| b.value)
        .fold(f64::MAX, f64::min)
        .clamp(0.1, 1.0)
        / 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(20)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..bars.len() as f64, (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc(unit)
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let x = i as f64;
        let value = bar.value.max(bottom);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.15, bottom), (x + 0.85, value)],
            Palette99::pick(i).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{} {:.0}", bar.label, bar.value),
            (x + 0.2, value * 1.3),
            ("sans-serif", 11)
                .into_font()
                .transform(FontTransform::Rotate270),
        )))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Sample {
        case: String,
        p50_us: f64,
    }

    impl Row for Sample {
        fn header() -> &'static [&'static str] {
            &["case", "p50_us"]
        }
        fn cells(&self) -> Vec<String> {
            vec![self.case.clone(), format!("{:.1}", self.p50_us)]
        }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let rows = [
            Sample {
                case: "a".into(),
                p50_us: 1.0,
            },
            Sample {
                case: "b".into(),
                p50_us: 2.5,
            },
        ];
        assert_eq!(
            render(&rows, Format::Csv).unwrap(),
            "case,p50_us\na,1.0\nb,2.5\n"
        );
    }

    #[test]
    fn json_uses_the_field_names() {
        let rows = [Sample {
            case: "a".into(),
            p50_us: 1.0,
        }];
        let value: serde_json::Value =
            serde_json::from_str(&render(&rows, Format::Json).unwrap()).unwrap();
        assert_eq!(value[0]["case"], "a");
        assert_eq!(value[0]["p50_us"], 1.0);
    }
}
