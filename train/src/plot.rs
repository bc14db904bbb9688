//! Plots (plotters): accuracy against allocation for a sweep, and the
//! relation's curves. PNG and SVG from the same drawing code.
//!
//! Text needs a TrueType font: plotters is built with its pure-Rust
//! `ab_glyph` renderer (no system library needed to build), and the font is
//! read at run time from the usual system locations (DejaVu, Liberation, Lato,
//! or `$SPIKESLICE_FONT`). Without one, plotting fails with a message and the
//! sweep's other outputs are still written.

use crate::stats::Spread;
use crate::sweep::{AllocSummary, SweepReport};
use anyhow::{anyhow, bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use spikeslice_core::atomic;
use std::path::Path;
use std::sync::OnceLock;

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/lato/Lato-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Register a sans-serif font once; the error says where we looked.
fn ensure_font() -> Result<()> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let env = std::env::var("SPIKESLICE_FONT").ok();
        for path in env.iter().map(String::as_str).chain(FONT_CANDIDATES.iter().copied()) {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err("no TrueType font found (install fonts-dejavu-core, or set SPIKESLICE_FONT to a .ttf file)".into())
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// One curve: a name, a colour index and points `(x, y)`.
#[derive(Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Error bars: `y - h ..= y + h` at each point (empty: none).
    pub half_widths: Vec<f64>,
}

/// A line chart; `x_labels` (if given) names integer x positions.
#[derive(Default)]
pub struct Chart<'a> {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub series: Vec<Series>,
    pub x_labels: Option<&'a [String]>,
    /// The x positions are categories (allocations), not a scale: points
    /// are not joined by lines.
    pub categorical: bool,
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let pts = c.series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    for s in &c.series {
        for (&(_, y), &h) in s.points.iter().zip(&s.half_widths) {
            y0 = y0.min(y - h);
            y1 = y1.max(y + h);
        }
    }
    if x0 > x1 {
        bail!("nothing to plot");
    }
    let pad_y = ((y1 - y0) * 0.08).max(0.5);
    let (x0, x1) = if c.x_labels.is_some() {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1.max(x0 + 1.0))
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, (y0 - pad_y)..(y1 + pad_y))
        .map_err(err)?;
    let labels = c.x_labels;
    let fmt = |x: &f64| -> String {
        match labels {
            Some(l) => {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < l.len() {
                    l[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None => format!("{x:.0}"),
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .x_label_formatter(&fmt)
        .label_style(("sans-serif", 13));
    if let Some(l) = labels {
        mesh.x_labels(l.len() * 2 + 1).disable_x_mesh();
    }
    mesh.draw().map_err(err)?;
    let palette = [BLUE, RED, RGBColor(0, 140, 0), MAGENTA, CYAN, BLACK];
    for (i, s) in c.series.iter().enumerate() {
        let col = palette[i % palette.len()];
        let style = ShapeStyle::from(&col).stroke_width(2);
        // Alternate filled and hollow markers of different sizes, so that
        // curves that coincide (SNN = quantized ANN) stay visible.
        let (size, filled) = if i % 2 == 1 { (6, false) } else { (3, true) };
        let marker = if filled {
            col.filled()
        } else {
            col.stroke_width(2)
        };
        if !s.half_widths.is_empty() {
            chart
                .draw_series(s.points.iter().zip(&s.half_widths).map(|(&(x, y), &h)| {
                    ErrorBar::new_vertical(x, y - h, y, y + h, col.stroke_width(1), 8)
                }))
                .map_err(err)?;
        }
        if c.categorical {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), size + 1, marker)),
                )
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), size, marker));
        } else if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), size, marker)),
                )
                .map_err(err)?;
        }
    }
    // One curve needs no legend (the title and axis say what it is), and a
    // legend would hide its points.
    if c.series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Draw `chart` to `path` (`.png` or `.svg`).
pub fn render(chart: &Chart, path: &Path) -> Result<()> {
    render_rows(std::slice::from_ref(chart), 560, path)
}

/// Draw `charts` one above the other into `path` (`.png` or `.svg`).
pub fn render_stacked(charts: &[Chart], path: &Path) -> Result<()> {
    render_rows(charts, 420, path)
}

/// Draw `charts` one above the other, `row_height` pixels each, into `path`.
fn render_rows(charts: &[Chart], row_height: u32, path: &Path) -> Result<()> {
    ensure_font()?;
    let size = (960, row_height * charts.len() as u32);
    fn each<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, charts: &[Chart]) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        for (area, chart) in root.split_evenly((charts.len(), 1)).into_iter().zip(charts) {
            draw(area, chart)?;
        }
        Ok(())
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "svg" | "png") {
        bail!("plot {}: use a .png or .svg file name", path.display());
    }
    atomic::write_via(path, |tmp| match ext {
        "svg" => each(SVGBackend::new(tmp, size).into_drawing_area(), charts),
        _ => each(BitMapBackend::new(tmp, size).into_drawing_area(), charts),
    })
}

/// Accuracy (%) by allocation, sorted as in the report (by budget, then
/// `b_w`, `b_s`, `T`), allocations as categories: float, integer ANN and SNN,
/// the mean over the seeds with its 95% interval as an error bar when there
/// is more than one seed; below it, when the sweep has performance figures,
/// fps and energy per inference ([`SweepReport::performance_of`]).
pub fn sweep_plot(r: &SweepReport, path: &Path) -> Result<()> {
    let labels: Vec<String> = r.summary.iter().map(|x| x.alloc.to_string()).collect();
    // Each series a little left or right of its allocation, so that equal
    // values (SNN = quantized ANN) and their error bars stay apart.
    let series = |name: &str, f: &dyn Fn(&AllocSummary) -> &Spread, dashed, shift| Series {
        name: name.into(),
        points: r
            .summary
            .iter()
            .enumerate()
            .map(|(i, x)| (i as f64 + shift, 100.0 * f(x).mean))
            .collect(),
        dashed,
        half_widths: r
            .summary
            .iter()
            .map_while(|x| f(x).half_width.map(|h| 100.0 * h))
            .collect(),
    };
    let seeds = match r.seeds.len() {
        0 | 1 => String::new(),
        n => format!(", mean of {n} seeds with 95% CI"),
    };
    let chart = Chart {
        title: format!(
            "{} on {}: test accuracy by allocation (BB {} {}{seeds})",
            r.arch,
            r.data,
            if r.at_most { "<=" } else { "=" },
            r.budget,
        ),
        x_desc: "allocation b_w/b_s/T".into(),
        y_desc: "test accuracy (%)".into(),
        series: vec![
            series("float", &|x| &x.float_accuracy, true, -0.2),
            series("quantized ANN (integer)", &|x| &x.qann_accuracy, false, 0.0),
            series("SNN (golden model)", &|x| &x.snn_accuracy, false, 0.2),
        ],
        x_labels: Some(&labels),
        categorical: true,
    };
    let perf: Option<Vec<crate::sweep::Performance>> = r
        .summary
        .iter()
        .map(|a| r.performance_of(a.alloc))
        .collect();
    let Some(perf) = perf.filter(|p| !p.is_empty()) else {
        return render(&chart, path);
    };
    let config = perf[0].config.clone();
    let line = |name: &str, f: &dyn Fn(&crate::sweep::Performance) -> f64| Series {
        name: name.into(),
        points: perf
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, f(p)))
            .collect(),
        dashed: false,
        half_widths: Vec::new(),
    };
    let fps = Chart {
        title: format!("throughput on {config} (cycle model)"),
        x_desc: "allocation b_w/b_s/T".into(),
        y_desc: "frames per second".into(),
        series: vec![line("fps", &|p| p.fps)],
        x_labels: Some(&labels),
        categorical: true,
    };
    let energy = Chart {
        title: format!("energy per inference on {config} (energy model, docs/energy.md)"),
        x_desc: "allocation b_w/b_s/T".into(),
        y_desc: "energy per inference (uJ)".into(),
        series: vec![line("energy per inference", &|p| {
            p.energy_per_inference_j * 1e6
        })],
        x_labels: Some(&labels),
        categorical: true,
    };
    render_stacked(&[chart, fps, energy], path)
}
