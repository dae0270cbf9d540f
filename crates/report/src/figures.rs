//! The figures, each drawn once per backend (SVG for the report, PNG for everything else).

use std::error::Error;
use std::sync::Once;

use ddlab_analysis::{Analysis, ConditionAnalysis, CurvePoint, MetricVerdict, StudyEffect};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

type DrawResult = Result<(), Box<dyn Error>>;

static FONT: Once = Once::new();

/// Plotters draws text with a font registered here (DejaVu Sans, shipped in `assets/` with its licence),
/// so figures look the same on machines without system fonts.
fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
            panic!("the shipped font is unreadable");
        }
    });
}

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// A legend key for a dashed line: three short strokes.
macro_rules! dashed_key {
    ($x:expr, $y:expr, $colour:expr, $width:expr) => {{
        let style = $colour.stroke_width($width);
        EmptyElement::at(($x, $y))
            + PathElement::new(vec![(0, 0), (6, 0)], style)
            + PathElement::new(vec![(9, 0), (15, 0)], style)
            + PathElement::new(vec![(18, 0), (24, 0)], style)
    }};
}

const FONT_TITLE: u32 = 24;
const FONT_LABEL: u32 = 18;
const FONT_TICK: u32 = 15;

/// A drawn figure: its name (`<name>.svg`, `<name>.png`), its title and its two encodings. The report
/// crate writes nothing: the caller stores the bytes.
#[derive(Clone, Debug)]
pub struct Figure {
    pub name: String,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Why a figure could not be drawn: which figure, and what plotters or the PNG encoder said.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("figure {figure}: {message}")]
    Draw { figure: String, message: String },
}

/// Renders `draw` as SVG and as PNG, in memory.
macro_rules! render {
    ($name:expr, $title:expr, $size:expr, |$area:ident| $body:expr) => {{
        let name: String = $name;
        let fail = |e: &dyn std::fmt::Display| ReportError::Draw { figure: name.clone(), message: e.to_string() };
        let (width, height): (u32, u32) = $size;
        let mut svg = String::new();
        {
            let $area = SVGBackend::with_string(&mut svg, $size).into_drawing_area();
            $body.map_err(|e| fail(&e))?;
            $area.present().map_err(|e| fail(&e))?;
        }
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        {
            let $area = BitMapBackend::with_buffer(&mut rgb, $size).into_drawing_area();
            $body.map_err(|e| fail(&e))?;
            $area.present().map_err(|e| fail(&e))?;
        }
        let png = encode_png(&rgb, width, height).map_err(|e| fail(&e))?;
        Figure { name, title: $title, svg, png }
    }};
}

/// PNG bytes of an RGB bitmap.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Box<dyn Error>> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(rgb, width, height, image::ColorType::Rgb8)?;
    Ok(out)
}

/// Draws every figure of an analysis.
pub fn draw_figures(analysis: &Analysis) -> Result<Vec<Figure>, ReportError> {
    register_font();
    let mut figures = Vec::new();
    figures.push(render!(
        "error_curves".to_string(),
        "Train and test error, and test loss, against width".to_string(),
        (1000, 900),
        |area| error_figure(&area, analysis)
    ));
    let names = crate::chart::metric_names(analysis);
    for metric in &names {
        let slug = metric.replace('/', "-");
        figures.push(render!(
            format!("metric-{slug}"),
            format!("{metric} against width, trained and at initialisation"),
            (1000, 900),
            |area| metric_figure(&area, analysis, metric)
        ));
    }
    for metric in &names {
        let slug = metric.replace('/', "-");
        figures.push(render!(
            format!("scatter-{slug}"),
            format!("{metric} against test error, coloured by width"),
            (900, 700),
            |area| scatter_figure(&area, analysis, metric)
        ));
    }
    for (ci, c) in analysis.conditions.iter().enumerate() {
        if c.ensembles.curves.iter().any(|k| !k.points.is_empty()) {
            figures.push(render!(
                format!("ensembles-{ci}"),
                format!("H5: test error of the k-seed ensemble against width, one curve per k ({})", c.condition),
                (1000, 650),
                |area| ensemble_figure(&area, c)
            ));
        }
        if !c.epochwise.figure_widths.is_empty() {
            figures.push(render!(
                format!("epochs-{ci}"),
                format!("Epoch-wise: test error and verdict metrics against epochs at chosen widths ({})", c.condition),
                (1000, 1100),
                |area| epoch_figure(&area, c)
            ));
        }
    }
    if analysis.width_adjusted.iter().any(|h| !h.points.is_empty()) {
        figures.push(render!(
            "width_adjusted".to_string(),
            "H3: test error against metric growth at fixed width (both centred on the width's mean over conditions)".to_string(),
            (1100, 900),
            |area| width_adjusted_figure(&area, analysis)
        ));
    }
    if analysis.across.iter().any(|a| !a.points.is_empty()) {
        figures.push(render!(
            "onset_vs_peak".to_string(),
            "Ensemble onset W_ens against peak width W_peak across conditions".to_string(),
            (900, 750),
            |area| onset_figure(&area, analysis)
        ));
    }
    Ok(figures)
}

/// The width axis in log2 units on a linear axis (labels show 2^x). Plotters' own log axis can loop
/// for ever generating ticks over a narrow range (widths [2, 4], or one width), so it is never used.
fn width_range(analysis: &Analysis) -> std::ops::Range<f64> {
    let widths = analysis.conditions.iter().flat_map(|c| c.curves.test_err.iter().map(|p| p.width as f64));
    log2_span(widths)
}

/// A padded range of log2 of positive values: at least one octave wide, 0..1 when there are none.
fn log2_span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let logs: Vec<f64> = values.filter(|v| v.is_finite() && *v > 0.0).map(f64::log2).collect();
    if logs.is_empty() {
        return 0.0..1.0;
    }
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((1.0 - (hi - lo)) / 2.0).max(0.0) + 0.25;
    (lo - pad)..(hi + pad)
}

fn value_range<'a>(curves: impl Iterator<Item = &'a CurvePoint>) -> std::ops::Range<f64> {
    range_of(curves.flat_map(|p| [p.mean, p.lo, p.hi]))
}

/// The padded range of the finite values.
fn range_of(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    padded(lo, hi)
}

/// A range around [lo, hi] that plotters can always draw: non-empty even for a constant curve (at
/// any magnitude, so that lo + pad != lo in floating point), 0..1 when nothing is finite.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    let pad = if span > 1e-9 * scale.max(1e-300) { span * 0.08 } else { (scale * 0.05).max(1e-3) };
    (lo - pad)..(hi + pad)
}

/// Tick label of a log2 axis: the width 2^v.
fn width_label(v: &f64) -> String {
    let w = v.exp2();
    if w >= 10.0 || (w - w.round()).abs() < 0.05 { format!("{}", w.round() as i64) } else { format!("{w:.1}") }
}

/// A panel's chart on linear f64 axes, as every figure draws them.
type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// The frame every figure's panels share: title, label areas, the mesh with its axis descriptions and
/// fonts; `x_label` formats the x ticks (log2 widths or epochs as numbers).
fn panel_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    caption: impl AsRef<str>,
    ranges: (std::ops::Range<f64>, std::ops::Range<f64>),
    descs: (&str, &str),
    x_label: Option<&dyn Fn(&f64) -> String>,
) -> Result<Chart<'a, DB>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    panel_chart_xy(area, caption, ranges, descs, (x_label, None))
}

/// A formatter for an axis' tick labels, or plotters' own.
type TickFormat<'f> = Option<&'f dyn Fn(&f64) -> String>;

/// [`panel_chart`] with a formatter for the y ticks as well (both axes in log2 units).
fn panel_chart_xy<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    caption: impl AsRef<str>,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
    (x_label, y_label): (TickFormat, TickFormat),
) -> Result<Chart<'a, DB>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption.as_ref(), ("sans-serif", FONT_TITLE))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc).y_desc(y_desc).label_style(("sans-serif", FONT_TICK)).axis_desc_style(("sans-serif", FONT_LABEL));
    if let Some(format) = x_label {
        mesh.x_label_formatter(format);
    }
    if let Some(format) = y_label {
        mesh.y_label_formatter(format);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Every figure's legend: the series labels in a framed, half-transparent box at `position`.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", FONT_TICK))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A curve's seed band (t 95% interval of the mean over seeds) and its mean line.
fn draw_curve<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    curve: &[CurvePoint],
    colour: RGBColor,
    dashed: bool,
    label: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let finite: Vec<&CurvePoint> = curve.iter().filter(|p| p.mean.is_finite()).collect();
    if finite.is_empty() {
        return Ok(());
    }
    let band: Vec<(f64, f64)> = finite
        .iter()
        .map(|p| ((p.width as f64).log2(), if p.hi.is_finite() { p.hi } else { p.mean }))
        .chain(finite.iter().rev().map(|p| ((p.width as f64).log2(), if p.lo.is_finite() { p.lo } else { p.mean })))
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
    let line: Vec<(f64, f64)> = finite.iter().map(|p| ((p.width as f64).log2(), p.mean)).collect();
    let style = colour.stroke_width(2);
    if dashed {
        chart
            .draw_series(DashedLineSeries::new(line.clone(), 8, 5, style))?
            .label(label.to_string())
            .legend(move |(x, y)| dashed_key!(x, y, colour, 2));
    } else {
        chart
            .draw_series(LineSeries::new(line.clone(), style))?
            .label(label.to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2)));
    }
    chart.draw_series(line.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())))?;
    Ok(())
}

fn marker<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    x: f64,
    y: std::ops::Range<f64>,
    colour: RGBColor,
    label: String,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .draw_series(DashedLineSeries::new(vec![(x.log2(), y.start), (x.log2(), y.end)], 4, 4, colour.stroke_width(1)))?
        .label(label)
        .legend(move |(lx, ly)| dashed_key!(lx, ly, colour, 1));
    Ok(())
}

/// A risk curve on a log10 scale: a regression risk spans orders of magnitude around p = n. The lower
/// end of an interval that reaches below zero is drawn at a tenth of the mean; values under `floor`
/// (an interpolating fit's training risk, zero up to round-off) are left out.
fn log10_curve(curve: &[CurvePoint], floor: f64) -> Vec<CurvePoint> {
    let log = |v: f64| if v > floor { v.log10() } else { f64::NAN };
    curve
        .iter()
        .map(|p| CurvePoint {
            mean: log(p.mean),
            lo: if p.lo > floor { p.lo.log10() } else { log(p.mean / 10.0) },
            hi: log(p.hi),
            ..p.clone()
        })
        .collect()
}

fn error_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, analysis: &Analysis) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let panels = area.split_evenly((2, 1));
    let xs = width_range(analysis);
    let regression = analysis.conditions.iter().any(|c| c.regression);
    let smallest_test = analysis
        .conditions
        .iter()
        .flat_map(|c| c.curves.test_err.iter().map(|p| p.mean))
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if smallest_test.is_finite() { smallest_test * 1e-4 } else { 0.0 };
    let shown = |curve: &[CurvePoint]| if regression { log10_curve(curve, floor) } else { curve.to_vec() };
    let theory_lines: Vec<Vec<Vec<(f64, f64)>>> = analysis
        .conditions
        .iter()
        .map(|c| {
            // Two pieces, either side of the threshold where the expected risk is infinite.
            let points = c.theory.as_ref().map(|t| t.points.as_slice()).unwrap_or_default();
            let mut pieces: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for p in points {
                match p.theory {
                    Some(v) if v > 0.0 => {
                        let y = if regression { v.log10() } else { v };
                        pieces.last_mut().unwrap().push(((p.width as f64).log2(), y));
                    }
                    _ if !pieces.last().unwrap().is_empty() => pieces.push(Vec::new()),
                    _ => {}
                }
            }
            pieces.retain(|piece| !piece.is_empty());
            pieces
        })
        .collect();
    let shown_curves: Vec<(Vec<CurvePoint>, Vec<CurvePoint>)> =
        analysis.conditions.iter().map(|c| (shown(&c.curves.test_err), shown(&c.curves.train_err))).collect();
    let curve_values = shown_curves.iter().flat_map(|(test, train)| test.iter().chain(train)).flat_map(|p| [p.mean, p.lo, p.hi]);
    let err_range = range_of(curve_values.chain(theory_lines.iter().flatten().flatten().map(|&(_, y)| y)));
    let (caption, y_desc) = if regression {
        ("Risk against p (bands: t 95% interval of the mean over seeds)", "risk, mean squared error (log10)")
    } else {
        ("Error against hidden width (bands: t 95% interval of the mean over seeds)", "error (share misclassified)")
    };
    let mut chart = panel_chart(
        &panels[0],
        caption,
        (xs.clone(), err_range.clone()),
        ("hidden width H, or features p (log scale)", y_desc),
        Some(&width_label),
    )?;
    for (i, c) in analysis.conditions.iter().enumerate() {
        for (k, piece) in theory_lines[i].iter().enumerate() {
            let series = chart.draw_series(DashedLineSeries::new(piece.clone(), 6, 4, BLACK.stroke_width(2)))?;
            if k == 0 {
                series.label(format!("closed-form risk, {}", c.condition)).legend(move |(x, y)| dashed_key!(x, y, BLACK, 2));
            }
        }
        draw_curve(&mut chart, &shown_curves[i].0, color(i), false, &format!("test, {}", c.condition))?;
        draw_curve(&mut chart, &shown_curves[i].1, color(i), true, &format!("train, {}", c.condition))?;
        if let Some(w) = c.w_interp {
            marker(&mut chart, w as f64, err_range.clone(), RGBColor(90, 90, 90), format!("W_interp = {w} ({})", c.condition))?;
        }
        if let Some(p) = &c.peak.peak {
            marker(&mut chart, p.width as f64, err_range.clone(), color(i), format!("W_peak = {} ({})", p.width, c.condition))?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;

    // A test loss that spans more than three decades (a min-norm fit at p = n reaches 10^5 and more)
    // is drawn on a log10 scale, like a regression risk, so that the rest of the curve stays visible.
    let means = || analysis.conditions.iter().flat_map(|c| c.curves.test_loss.iter().map(|p| p.mean)).filter(|v| *v > 0.0);
    let (smallest, largest) = (means().fold(f64::INFINITY, f64::min), means().fold(0.0, f64::max));
    let log_loss = regression || (smallest.is_finite() && largest > 1000.0 * smallest);
    let loss_floor = if smallest.is_finite() { smallest * 1e-4 } else { 0.0 };
    let loss_curves: Vec<Vec<CurvePoint>> = analysis
        .conditions
        .iter()
        .map(|c| if log_loss { log10_curve(&c.curves.test_loss, loss_floor) } else { c.curves.test_loss.clone() })
        .collect();
    let loss_range = value_range(loss_curves.iter().flatten());
    let mut chart = panel_chart(
        &panels[1],
        "Test loss against hidden width",
        (xs, loss_range.clone()),
        ("hidden width H (log scale)", if log_loss { "test loss (log10)" } else { "test loss" }),
        Some(&width_label),
    )?;
    for (i, c) in analysis.conditions.iter().enumerate() {
        draw_curve(&mut chart, &loss_curves[i], color(i), false, &format!("test loss, {}", c.condition))?;
        if let Some(p) = &c.peak_loss.peak {
            marker(
                &mut chart,
                p.width as f64,
                loss_range.clone(),
                color(i),
                format!("loss peak = {} ({})", p.width, c.condition),
            )?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

fn metric_of<'a>(c: &'a ConditionAnalysis, metric: &str) -> Option<&'a MetricVerdict> {
    c.metrics.iter().find(|m| m.metric == metric)
}

fn metric_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, analysis: &Analysis, metric: &str) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let panels = area.split_evenly((2, 1));
    let xs = width_range(analysis);
    let err_range = value_range(analysis.conditions.iter().flat_map(|c| c.curves.test_err.iter()));
    let mut chart = panel_chart(
        &panels[0],
        "Test error",
        (xs.clone(), err_range.clone()),
        ("hidden width H (log scale)", "test error"),
        Some(&width_label),
    )?;
    for (i, c) in analysis.conditions.iter().enumerate() {
        draw_curve(&mut chart, &c.curves.test_err, color(i), false, &format!("test error, {}", c.condition))?;
        if let Some(p) = &c.peak.peak {
            marker(&mut chart, p.width as f64, err_range.clone(), color(i), format!("W_peak = {} ({})", p.width, c.condition))?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;

    let range = value_range(
        analysis.conditions.iter().filter_map(|c| metric_of(c, metric)).flat_map(|m| m.trained.iter().chain(&m.init)),
    );
    let mut chart = panel_chart(
        &panels[1],
        format!("{metric}: trained (solid) and at initialisation (dashed)"),
        (xs, range.clone()),
        ("hidden width H (log scale)", metric.split('/').next_back().unwrap_or(metric)),
        Some(&width_label),
    )?;
    for (i, c) in analysis.conditions.iter().enumerate() {
        let Some(m) = metric_of(c, metric) else { continue };
        draw_curve(&mut chart, &m.trained, color(i), false, &format!("trained, {}", c.condition))?;
        draw_curve(&mut chart, &m.init, color(i), true, &format!("init, {}", c.condition))?;
        if let Some(w) = m.w_ens {
            marker(&mut chart, w, range.clone(), RGBColor(90, 90, 90), format!("W_ens = {w:.0} ({})", c.condition))?;
        }
        if let Some(p) = &c.peak.peak {
            marker(&mut chart, p.width as f64, range.clone(), color(i), format!("W_peak = {} ({})", p.width, c.condition))?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// Viridis-like colour for t in [0, 1] (narrow = dark purple, wide = yellow).
fn width_colour(t: f64) -> RGBColor {
    let stops = [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(lerp(stops[i].0, stops[i + 1].0), lerp(stops[i].1, stops[i + 1].1), lerp(stops[i].2, stops[i + 1].2))
}

fn scatter_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, analysis: &Analysis, metric: &str) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let (plot, legend) = area.split_horizontally(780);
    let mut points: Vec<(f64, f64, usize, usize)> = Vec::new();
    for (ci, c) in analysis.conditions.iter().enumerate() {
        let Some(m) = metric_of(c, metric) else { continue };
        for p in &m.trained {
            if let Some(e) = c.curves.test_err.iter().find(|e| e.width == p.width)
                && p.mean.is_finite()
                && e.mean.is_finite()
            {
                points.push((p.mean, e.mean, p.width, ci));
            }
        }
    }
    let xr = value_range(analysis.conditions.iter().filter_map(|c| metric_of(c, metric)).flat_map(|m| m.trained.iter()));
    let yr = value_range(analysis.conditions.iter().flat_map(|c| c.curves.test_err.iter()));
    // Colour runs over log2 width; one width (or none) gets the middle colour.
    let (lmin, lmax) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        let l = (p.2.max(1) as f64).log2();
        (lo.min(l), hi.max(l))
    });
    let position = |w: usize| if lmax > lmin { ((w.max(1) as f64).log2() - lmin) / (lmax - lmin) } else { 0.5 };
    let mut chart = panel_chart(
        &plot,
        format!("Test error against {metric} (trained)"),
        (xr, yr),
        (metric.split('/').next_back().unwrap_or(metric), "test error"),
        None,
    )?;
    for ci in 0..analysis.conditions.len() {
        let line: Vec<(f64, f64)> = points.iter().filter(|p| p.3 == ci).map(|p| (p.0, p.1)).collect();
        chart.draw_series(LineSeries::new(line, color(ci).mix(0.35).stroke_width(1)))?;
    }
    chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 6, width_colour(position(p.2)).filled())))?;
    if points.is_empty() {
        return Ok(());
    }
    // Colour key: width on a log2 axis (a linear axis in log2 units; see `width_range`).
    let key_range = if lmax > lmin { lmin..lmax } else { (lmin - 0.5)..(lmax + 0.5) };
    let mut key = ChartBuilder::on(&legend)
        .margin_top(60)
        .margin_bottom(60)
        .caption("width", ("sans-serif", FONT_LABEL))
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, key_range.clone())?;
    key.configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_label_formatter(&width_label)
        .label_style(("sans-serif", FONT_TICK))
        .draw()?;
    let steps = 60;
    let span = key_range.end - key_range.start;
    for s in 0..steps {
        let (a, b) = (s as f64 / steps as f64, (s + 1) as f64 / steps as f64);
        let (la, lb) = (key_range.start + a * span, key_range.start + b * span);
        key.draw_series(std::iter::once(Rectangle::new([(0.0, la), (1.0, lb)], width_colour(a).filled())))?;
    }
    Ok(())
}

fn onset_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, analysis: &Analysis) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let range = log2_span(analysis.across.iter().flat_map(|a| a.points.iter().flat_map(|p| [p.1, p.2])));
    let (lo, hi) = (range.start, range.end);
    let mut chart = panel_chart_xy(
        area,
        "Ensemble onset against the test-error peak (one point per condition)",
        (lo..hi, lo..hi),
        ("W_peak (log scale)", "W_ens (log scale)"),
        (Some(&width_label), Some(&width_label)),
    )?;
    chart
        .draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?
        .label("identity: W_ens = W_peak")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(1)));
    for (i, a) in analysis.across.iter().enumerate() {
        if a.points.is_empty() {
            continue;
        }
        let colour = color(i);
        let slope = a.slope.map_or(String::new(), |s| format!(", slope {s:.2}"));
        let mut line: Vec<(f64, f64)> = a.points.iter().map(|p| (p.1.log2(), p.2.log2())).collect();
        line.sort_by(|p, q| p.0.total_cmp(&q.0));
        chart.draw_series(LineSeries::new(line, colour.mix(0.5).stroke_width(1)))?;
        chart
            .draw_series(a.points.iter().map(|p| Circle::new((p.1.log2(), p.2.log2()), 6, colour.filled())))?
            .label(format!("{}{slope}", a.metric))
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, colour.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// H5: the test error against width, one curve per k (k = 1: the mean single net), with the single-net
/// peak marked.
fn ensemble_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &ConditionAnalysis) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let xs = log2_span(c.ensembles.curves.iter().flat_map(|k| k.points.iter().map(|p| p.width as f64)));
    let range = value_range(c.ensembles.curves.iter().flat_map(|k| k.points.iter()).chain(&c.curves.test_err));
    let mut chart = panel_chart(
        area,
        format!("k-seed ensembles, {}", c.condition),
        (xs, range.clone()),
        ("hidden width H (log scale)", "test error"),
        Some(&width_label),
    )?;
    for (i, k) in c.ensembles.curves.iter().enumerate() {
        draw_curve(&mut chart, &k.points, color(i), false, &format!("k = {}", k.k))?;
    }
    if let Some(w) = c.ensembles.peak_width {
        marker(&mut chart, w as f64, range, RGBColor(90, 90, 90), format!("single-net peak W = {w}"))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// Epoch-wise: test error against log epochs for the chosen widths, then one panel per chosen metric
/// (its snapshot values), with each width's epoch-wise peak marked where detected.
fn epoch_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &ConditionAnalysis) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let ew = &c.epochwise;
    let chosen: Vec<_> = ew.widths.iter().filter(|w| ew.figure_widths.contains(&w.width)).collect();
    let panels = area.split_evenly((1 + ew.figure_metrics.len(), 1));
    let xs = log2_span(chosen.iter().flat_map(|w| w.test_err.iter().map(|p| p.width as f64)));
    let mut specs: Vec<(String, String, Vec<Vec<CurvePoint>>)> =
        vec![("Test error against epochs".into(), "test error".into(), chosen.iter().map(|w| w.test_err.clone()).collect())];
    for m in &ew.figure_metrics {
        let curves = chosen
            .iter()
            .map(|w| w.metrics.iter().find(|x| &x.metric == m).map(|x| x.values.clone()).unwrap_or_default())
            .collect();
        specs.push((format!("{m} (probe snapshots)"), m.split('/').next_back().unwrap_or(m).to_string(), curves));
    }
    for (panel, (title, ylabel, curves)) in panels.iter().zip(&specs) {
        let range = value_range(curves.iter().flatten());
        let mut chart =
            panel_chart(panel, title, (xs.clone(), range.clone()), ("epoch (log scale)", ylabel.as_str()), Some(&width_label))?;
        for (i, (w, curve)) in chosen.iter().zip(curves).enumerate() {
            draw_curve(&mut chart, curve, color(i), false, &format!("width {}", w.width))?;
            if let Some(p) = w.peak.peak.as_ref().filter(|_| w.detected) {
                marker(
                    &mut chart,
                    p.width as f64,
                    range.clone(),
                    color(i),
                    format!("epoch-wise peak, width {}: {}", w.width, p.width),
                )?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

/// H3: per metric, every condition at every shared width, growth and test error both centred on the
/// width's mean over conditions (what the within-width slope sees), coloured by condition.
fn width_adjusted_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, analysis: &Analysis) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let rows: Vec<_> = analysis.width_adjusted.iter().filter(|h| !h.points.is_empty()).take(9).collect();
    let cols = if rows.len() > 4 {
        3
    } else if rows.len() > 1 {
        2
    } else {
        1
    };
    let panels = area.split_evenly((rows.len().div_ceil(cols).max(1), cols));
    for (panel, h) in panels.iter().zip(&rows) {
        let mut by_width: std::collections::BTreeMap<usize, (f64, f64, usize)> = Default::default();
        for p in &h.points {
            let e = by_width.entry(p.width).or_default();
            e.0 += p.growth;
            e.1 += p.test_err;
            e.2 += 1;
        }
        let centred: Vec<(f64, f64, usize)> = h
            .points
            .iter()
            .map(|p| {
                let (g, e, n) = by_width[&p.width];
                let ci = h.conditions.iter().position(|c| c == &p.condition).unwrap_or(0);
                (p.growth - g / n as f64, p.test_err - e / n as f64, ci)
            })
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let fold = |f: fn(&(f64, f64, usize)) -> f64| {
            centred.iter().map(f).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
        };
        let (xl, xh) = fold(|p| p.0);
        let (yl, yh) = fold(|p| p.1);
        let (xr, yr) = (padded(xl, xh), padded(yl, yh));
        let slope = h.slope.map_or(String::new(), |s| format!(", slope {s:.3}"));
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{}{slope}", h.metric), ("sans-serif", FONT_LABEL))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xr.clone(), yr)?;
        chart
            .configure_mesh()
            .x_desc("growth - width mean")
            .y_desc("test error - width mean")
            .label_style(("sans-serif", FONT_TICK))
            .axis_desc_style(("sans-serif", FONT_TICK))
            .draw()?;
        chart.draw_series(centred.iter().map(|p| Circle::new((p.0, p.1), 4, color(p.2).filled())))?;
        if let Some(s) = h.slope.filter(|s| s.is_finite()) {
            chart.draw_series(LineSeries::new(vec![(xr.start, s * xr.start), (xr.end, s * xr.end)], BLACK.stroke_width(1)))?;
        }
    }
    Ok(())
}

/// A study's forest plot of one effect: each setting's estimate with its 95% interval over its draws,
/// and the random-effects pool (a diamond spanning its interval) at the bottom.
pub fn draw_forest(name: &str, effect: &StudyEffect) -> Result<Figure, ReportError> {
    register_font();
    let rows = effect.settings.len() + 1;
    let height = (140 + 34 * rows).min(4000) as u32;
    Ok(render!(
        name.to_string(),
        format!("{}: per setting (mean and 95% interval over its draws) and pooled (random effects)", effect.name),
        (1100, height),
        |area| forest_figure(&area, effect)
    ))
}

fn forest_figure<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, effect: &StudyEffect) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    let n = effect.settings.len();
    let pooled = effect.pooled.as_ref();
    let values = effect
        .settings
        .iter()
        .flat_map(|s| [Some(s.mean), s.lo, s.hi])
        .chain(pooled.iter().flat_map(|p| [Some(p.lo), Some(p.hi)]))
        .flatten()
        .chain(std::iter::once(0.0));
    let x = range_of(values);
    // Row i (0 at the top) sits at y = n - i; the pool at y = 0.
    let y = -0.8..n as f64 + 0.8;
    let names: Vec<String> = effect.settings.iter().map(|s| s.setting.clone()).collect();
    let label = move |v: &f64| {
        let row = v.round();
        if (v - row).abs() > 1e-6 || row < 0.0 || row > n as f64 {
            return String::new();
        }
        match n - row as usize {
            i if i < n => names[i].clone(),
            _ => "pooled".to_string(),
        }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&effect.name, ("sans-serif", FONT_TITLE))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(420)
        .build_cartesian_2d(x.clone(), y.clone())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n + 3)
        .y_label_formatter(&label)
        .x_desc("effect")
        .label_style(("sans-serif", FONT_TICK))
        .axis_desc_style(("sans-serif", FONT_LABEL))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(vec![(0.0, y.start), (0.0, y.end)], 4, 4, BLACK.stroke_width(1)))?;
    for (i, s) in effect.settings.iter().enumerate() {
        let row = (n - i) as f64;
        if let (Some(lo), Some(hi)) = (s.lo, s.hi) {
            chart.draw_series(std::iter::once(PathElement::new(vec![(lo, row), (hi, row)], color(0).stroke_width(2))))?;
        }
        if s.mean.is_finite() {
            chart.draw_series(std::iter::once(Circle::new((s.mean, row), 5, color(0).filled())))?;
        }
    }
    if let Some(p) = pooled {
        let diamond = vec![(p.lo, 0.0), (p.mean, 0.3), (p.hi, 0.0), (p.mean, -0.3)];
        chart.draw_series(std::iter::once(Polygon::new(diamond, color(1).filled())))?;
    }
    Ok(())
}
