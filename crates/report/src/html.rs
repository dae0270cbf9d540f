//! report.html: one self-contained page (no network). The first screen holds the answer, a paragraph
//! per condition made from its verdicts, beside the key figure (test error, test loss and the decisive
//! metrics as small multiples on one width axis, interactive). Below, one folded section per prediction
//! with its figure, its numbers as a labelled table with units, and its reason; then the sortable runs
//! table and the spec. Every figure appears once.

use ddlab_analysis::{Analysis, ConditionAnalysis, Outcome, Verdict};

use crate::chart::{SCRIPT, chart_html, ensemble_figure, forest_plots, growth_figure, key_figure};
use crate::markdown::num;
use crate::summary::{Finding, across_findings, condition_answer, grouped, p_text, tally_line};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A table from a header and rows of cells (already escaped).
fn table(id: &str, class: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{id}\" class=\"{class}\"><thead><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{cell}</td>"));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// Markdown text with pipe tables (as written by `markdown.rs`) as HTML: tables become tables, other
/// lines paragraphs; `**x**` and backticks are dropped to plain text.
fn md_tables(md: &str) -> String {
    let mut out = String::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |rows: &mut Vec<Vec<String>>, out: &mut String| {
        if let Some((head, rest)) = rows.split_first() {
            let header: Vec<&str> = head.iter().map(String::as_str).collect();
            let body: Vec<Vec<String>> = rest.iter().map(|r| r.iter().map(|c| escape(c)).collect()).collect();
            out.push_str(&table("t", "", &header, &body));
        }
        rows.clear();
    };
    for line in md.lines() {
        let line = line.trim();
        if line.starts_with('|') {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace("**", "").replace('`', "").replace("\\|", "|"))
                .collect();
            if !cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ' ')) {
                rows.push(cells);
            }
        } else {
            flush(&mut rows, &mut out);
            if !line.is_empty() && !line.starts_with('#') {
                out.push_str(&format!("<p>{}</p>\n", escape(line)));
            }
        }
    }
    flush(&mut rows, &mut out);
    out
}

/// A figure drawn for the report: its file name in figures/ (without extension), title and SVG text.
pub struct ReportFigure {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// The inputs of the page.
pub struct ReportInputs<'a> {
    pub sweep_name: &'a str,
    pub spec_toml: &'a str,
    pub analysis: &'a Analysis,
    /// Every figure of figures/index.json. The page shows the curves against width itself
    /// (interactive); the others go in inline, each in its prediction's section.
    pub figures: Vec<ReportFigure>,
    /// runs.csv as header + rows.
    pub runs_header: Vec<String>,
    pub runs_rows: Vec<Vec<String>>,
}

fn outcome_tag(o: Outcome) -> String {
    format!("<b class=\"o {}\">{}</b>", o.label().replace(' ', "-"), o.label())
}

/// What a verdict's number is, in words, and its unit ("" where it has none).
fn number_label(key: &str) -> (&'static str, &'static str) {
    match key {
        "w_peak" => ("peak width W_peak", "hidden units"),
        "drop_left" => ("peak height above the lowest error at narrower widths", "test error"),
        "drop_right" => ("peak height above the lowest error at wider widths", "test error"),
        "t_left" => ("t statistic, narrower side", ""),
        "t_right" => ("t statistic, wider side", ""),
        "p_value" => ("p-value", ""),
        "p_holm" => ("p-value, Holm-adjusted over metrics", ""),
        "p_value_t" => ("p-value of the parametric t test (reported, not used)", ""),
        "metrics_supported" => ("metrics supported", "count"),
        "metrics_tested" => ("metrics tested", "count"),
        "alpha" => ("exponent alpha of seed variance ~ W^-alpha", ""),
        "effective_rank_widest" => ("effective rank at the widest width", "units"),
        "ensemble_size_widest" => ("seed-variance ratio, peak to widest width", "ratio"),
        "n_eff_widest" => ("N_eff at the widest width", "sub-networks"),
        "widest" => ("widest width", "hidden units"),
        "widths" => ("widths in the fit", "count"),
        "ensemble_peak_width" => ("the ensemble's peak width", "hidden units"),
        "ensemble_prominence" => ("the ensemble's peak height above its best side", "test error"),
        "single_prominence" => ("one net's peak height above its best side", "test error"),
        "reduction" => ("peak lowered by", "test error"),
        "reduction_share" => ("share of the peak removed", "fraction"),
        "k" => ("seeds per ensemble k", "count"),
        "margin" => ("smallest difference that matters", "test error"),
        "mean_diff" => ("one net of width kW minus k nets of width W", "test error"),
        "units" => ("widths compared", "count"),
        "widths_tested" => ("widths tested", "count"),
        "widths_with_peak" => ("widths with a peak", "count"),
        "w_ens" => ("onset width W_ens", "hidden units"),
        "slope_change" => ("change of slope at the onset", "metric per octave of width"),
        "sup_f" => ("sup-F statistic", ""),
        "slope" => ("slope", ""),
        "control_slope" => ("control slope (against W_interp)", ""),
        "df" => ("degrees of freedom", ""),
        "epoch_peak" => ("epoch-wise peak", "epochs"),
        "epoch_ens" => ("epoch-wise onset", "epochs"),
        "conditions" => ("conditions", "count"),
        "agreeing" => ("agreeing", "count"),
        "critical_t" => ("critical t", ""),
        "pairings" => ("pairings of conditions", "count"),
        "tested" => ("tested", "count"),
        "worst_t" => ("largest |t| off the known answer", ""),
        "worst_width" => ("width of the largest |t|", "hidden units"),
        "sesoi" => ("smallest effect of interest (docs/SCIENCE.md)", "the effect's own scale"),
        "power" => ("power at the smallest effect of interest", "probability"),
        "height_allowed" => ("largest peak height the data do not exclude", "test error"),
        "height_allowed_at" => ("width of that largest allowed height", "hidden units"),
        "change_at_peak" => ("change of slope at the peak, mean over seeds", "metric per octave of width"),
        "change_at_peak_upper" => ("upper bound of that change in the predicted direction", "metric per octave of width"),
        "sd_within" => ("sd of the growth within widths", "metric"),
        "confirm_change" => ("change of slope, seed by seed, in the peak's cell nearest the onset", "metric per octave of width"),
        "confirm_p" => ("one-sided p of that change in the predicted direction", ""),
        "trend_per_octave" => ("change of the difference per octave of W", "test error"),
        "alpha_params" => ("exponent of seed variance ~ P^-alpha (parameters)", ""),
        "alpha_params_lo" => ("its interval, lower end", ""),
        "alpha_params_hi" => ("its interval, upper end", ""),
        "from_width" => ("fit starts past the seed variance's own peak at", "hidden units"),
        "error_peak" => ("test-error peak", "hidden units"),
        "metrics_contradicted" => ("metrics contradicted", "count"),
        "metrics_inconclusive" => ("metrics inconclusive", "count"),
        "single_rise" => ("one net: rise into its peak from the narrower side", "test error"),
        "single_excess" => ("one net: excess of its peak over the wider side", "test error"),
        "ensemble_rise" => ("ensemble: rise into its peak", "test error"),
        "ensemble_excess" => ("ensemble: excess of its peak over the wider side", "test error"),
        _ => ("", ""),
    }
}

/// A verdict's numbers as a labelled table (value, 95% interval where it has one, unit).
fn numbers_table(v: &Verdict, null_draws: usize) -> String {
    let n = &v.numbers;
    let mut rows = Vec::new();
    for (key, value) in n {
        if key == "lo" || key == "hi" || key.ends_with("_lo") || key.ends_with("_hi") {
            continue;
        }
        let (label, unit) = number_label(key);
        let interval = |lo: &str, hi: &str| match (n.get(lo), n.get(hi)) {
            (Some(lo), Some(hi)) => format!("[{}, {}]", num(*lo), num(*hi)),
            _ => String::new(),
        };
        let ci = match key.as_str() {
            "w_ens" => interval("w_ens_lo", "w_ens_hi"),
            "epoch_ens" => interval("epoch_ens_lo", "epoch_ens_hi"),
            k if ["alpha", "reduction", "mean_diff", "slope"].contains(&k) => interval("lo", "hi"),
            _ => String::new(),
        };
        let shown =
            if key.starts_with("p_") { p_text(*value, null_draws).trim_start_matches("= ").to_string() } else { num(*value) };
        rows.push(vec![
            escape(if label.is_empty() { key } else { label }),
            format!("<code>{}</code>", escape(key)),
            escape(&shown),
            escape(&ci),
            escape(unit),
        ]);
    }
    if rows.is_empty() {
        return String::new();
    }
    table("", "numbers", &["quantity", "key", "value", "95% interval", "unit"], &rows)
}

/// One verdict: outcome, reason, numbers.
fn verdict_block(v: &Verdict, null_draws: usize) -> String {
    format!(
        "<div class=\"verdict\"><p>{} <b>{}</b>{}: {}</p>{}</div>\n",
        outcome_tag(v.outcome),
        escape(&v.prediction),
        v.metric.as_deref().map_or(String::new(), |m| format!(" (<code>{}</code>)", escape(m))),
        escape(&v.reason),
        numbers_table(v, null_draws)
    )
}

fn findings_html(findings: &[Finding]) -> String {
    grouped(findings)
        .into_iter()
        .map(|(o, texts)| format!("{}: {}.", outcome_tag(o), escape(&texts.join("; "))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The answer: the tally, then a paragraph per condition and one across conditions.
fn answer(a: &Analysis) -> String {
    let draws = a.options.null_draws;
    let mut out = String::from("<section id=\"answer\">\n<h2>Answer</h2>\n");
    out.push_str(&format!("<p class=\"tally\">{}</p>\n", escape(&tally_line(a))));
    if let Some(why) = &a.probes_not_applicable {
        out.push_str(&format!(
            "<p>No probes ran: {}. The predictions about the internal ensemble are not testable here.</p>\n",
            escape(why)
        ));
    }
    // A setting over data draws first: its verdicts are the counted ones; each draw's paragraph follows.
    for r in &a.replicated {
        out.push_str(&format!(
            "<p class=\"answer draws\"><b>Over data draws.</b> {}</p>\n",
            escape(&crate::summary::draws_paragraph(r))
        ));
    }
    for (ci, c) in a.conditions.iter().enumerate() {
        let answer = condition_answer(c, draws);
        out.push_str(&format!(
            "<p class=\"answer\" data-condition=\"{ci}\"><b>{}</b> ({}). {} {}</p>\n",
            escape(&answer.condition),
            escape(&answer.setting),
            escape(&answer.peak),
            findings_html(&answer.findings)
        ));
    }
    let across = across_findings(a);
    if a.conditions.len() > 1 && !across.is_empty() {
        out.push_str(&format!("<p class=\"answer across\"><b>Across conditions.</b> {}</p>\n", findings_html(&across)));
    }
    out.push_str("<p class=\"hint\">Each claim's test, numbers and figure are in the sections below.</p>\n</section>\n");
    out
}

/// A folded section; its summary line carries each outcome of its verdicts once, with a count.
fn section(id: &str, title: &str, outcomes: &[Outcome], body: &str) -> String {
    let tags: Vec<String> = [Outcome::Supported, Outcome::Contradicted, Outcome::Inconclusive, Outcome::NotTestable]
        .into_iter()
        .filter_map(|o| {
            let k = outcomes.iter().filter(|x| **x == o).count();
            (k > 0).then(|| format!("{}{}", outcome_tag(o), if k > 1 { format!(" x{k}") } else { String::new() }))
        })
        .collect();
    format!(
        "<details id=\"{id}\"><summary>{} <span class=\"tags\">{}</span></summary>\n<div class=\"section\">{body}</div></details>\n",
        escape(title),
        tags.join(" ")
    )
}

fn figures_named<'a>(figures: &'a [ReportFigure], prefix: &str) -> Vec<&'a ReportFigure> {
    figures.iter().filter(|f| f.name.starts_with(prefix)).collect()
}

fn inline(f: &ReportFigure) -> String {
    // The SVG goes in as markup: plotters writes a plain <svg> element with width and height.
    format!("<figure id=\"fig-{}\">{}<figcaption>{}</figcaption></figure>\n", escape(&f.name), f.svg, escape(&f.title))
}

fn verdicts_where<'a>(c: &'a ConditionAnalysis, prefix: &str) -> Vec<&'a Verdict> {
    c.verdicts.iter().filter(|v| v.prediction.starts_with(prefix)).collect()
}

/// The per-metric table of H1 and the past-peak relation for one condition.
fn metric_table(c: &ConditionAnalysis, ci: usize) -> String {
    let rows: Vec<Vec<String>> = c
        .metrics
        .iter()
        .map(|m| {
            let onset = m.onset.as_ref().map_or("-".to_string(), |o| format!("{} [{}, {}]", num(o.width), num(o.lo), num(o.hi)));
            let change = m.onset.as_ref().map_or("-".to_string(), |o| num(o.slope_change));
            let p = m.onset.as_ref().map_or("-".to_string(), |o| num(o.p_holm));
            let past =
                m.past_peak.as_ref().map_or("-".to_string(), |p| format!("{} [{}, {}]", num(p.slope), num(p.lo), num(p.hi)));
            let past_p = m.past_peak.as_ref().map_or("-".to_string(), |p| num(p.p_holm));
            vec![
                format!("<code>{}</code>", escape(&m.metric)),
                escape(&onset),
                escape(&change),
                escape(&p),
                outcome_tag(m.h1.outcome),
                escape(&past),
                escape(&past_p),
                outcome_tag(m.past_peak_verdict.outcome),
                format!("{} / {} / {} / {}", m.values.used, m.values.undefined, m.values.from_diverged_runs, m.values.unpaired),
            ]
        })
        .collect();
    table(
        &format!("metrics-{ci}"),
        "sortable",
        &[
            "metric",
            "onset W_ens [95%] (hidden units)",
            "slope change (per octave)",
            "Holm p",
            "H1",
            "past-peak slope [95%] (test error per metric unit)",
            "Holm p",
            "past-peak",
            "values used / undefined / diverged / unpaired",
        ],
        &rows,
    )
}

fn details(a: &Analysis, figures: &[ReportFigure]) -> String {
    let draws = a.options.null_draws;
    let mut out = String::from(
        "<h2>Details</h2>\n<p class=\"hint\">One section per prediction: its test's outcome and reason, its numbers, its figure. Definitions: docs/SCIENCE.md, Statistics.</p>\n",
    );
    let many = a.conditions.len() > 1;
    let heading = |c: &ConditionAnalysis| if many { format!("<h4>{}</h4>\n", escape(&c.condition)) } else { String::new() };
    let outcomes_of = |prefix: &str| -> Vec<Outcome> {
        a.conditions.iter().flat_map(|c| verdicts_where(c, prefix)).map(|v| v.outcome).collect()
    };

    // The peak.
    let mut body = String::new();
    for c in &a.conditions {
        body.push_str(&heading(c));
        for v in verdicts_where(c, "double descent") {
            body.push_str(&verdict_block(v, draws));
        }
        let loss_peak = c.peak_loss.peak.as_ref().map_or("none".to_string(), |p| {
            format!("width {}{}", p.width, c.peak_loss.p_value.map_or(String::new(), |pv| format!(" (p {})", p_text(pv, draws))))
        });
        body.push_str(&format!(
            "<p>Interpolation threshold W_interp (the narrowest width whose mean train error is within tolerance of 0): {}. Test-loss peak: {}. Diverged runs left out: {}.</p>\n",
            c.w_interp.map_or("not reached".into(), |w| format!("width {w}")),
            escape(&loss_peak),
            if c.diverged.is_empty() {
                "none".to_string()
            } else {
                escape(&c.diverged.iter().map(|d| format!("width {} seed {} ({})", d.width, d.seed, d.reason)).collect::<Vec<_>>().join("; "))
            }
        ));
    }
    body.push_str("<p>The curves are the key figure's first two panels, at the top of the page.</p>");
    out.push_str(&section("d-peak", "Double descent: the peak of the test error", &outcomes_of("double descent"), &body));

    // H1 and the past-peak relation, per metric.
    if a.conditions.iter().any(|c| !c.metrics.is_empty()) {
        let mut body = String::new();
        for (ci, c) in a.conditions.iter().enumerate() {
            body.push_str(&heading(c));
            for v in verdicts_where(c, "H1").into_iter().chain(verdicts_where(c, "past-peak")) {
                body.push_str(&verdict_block(v, draws));
            }
            body.push_str(&metric_table(c, ci));
            for m in &c.metrics {
                body.push_str(&format!(
                    "<details class=\"inner\"><summary>{} <code>{}</code></summary>",
                    outcome_tag(m.h1.outcome),
                    escape(&m.metric)
                ));
                body.push_str(&verdict_block(&m.h1, draws));
                body.push_str(&verdict_block(&m.past_peak_verdict, draws));
                body.push_str("</details>\n");
            }
        }
        if let Some(spec) = growth_figure(a) {
            body.push_str("<p>Each metric's growth over the same seed's network at initialisation, against width (what the onset test reads):</p>");
            body.push_str(&chart_html("growth-figure", &spec));
        }
        let scatters = figures_named(figures, "scatter-");
        if !scatters.is_empty() {
            body.push_str("<details class=\"inner\"><summary>Each metric against test error, coloured by width</summary>");
            for f in scatters {
                body.push_str(&inline(f));
            }
            body.push_str("</details>");
        }
        let mut outcomes = outcomes_of("H1");
        outcomes.extend(outcomes_of("past-peak"));
        out.push_str(&section(
            "d-h1",
            "H1: the internal ensemble starts growing at the peak; past-peak relation",
            &outcomes,
            &body,
        ));
    }

    // Per condition: its heading, its verdicts of one prediction, and what `more` adds.
    let per_condition = |prefix: &str, more: &dyn Fn(&ConditionAnalysis) -> String| -> String {
        let mut body = String::new();
        for c in &a.conditions {
            body.push_str(&heading(c));
            for v in verdicts_where(c, prefix) {
                body.push_str(&verdict_block(v, draws));
            }
            body.push_str(&more(c));
        }
        body
    };

    // H4.
    let mut body = per_condition("H4", &|_| String::new());
    body.push_str("<p>The seed variance against width is the key figure's <code>seed_ensemble/variance_kl</code> panel.</p>");
    if !outcomes_of("H4").is_empty() {
        out.push_str(&section("d-h4", "H4: seed variance falls past the peak", &outcomes_of("H4"), &body));
    }

    // H5.
    if a.conditions.iter().any(|c| c.ensembles.curves.iter().any(|k| !k.points.is_empty())) {
        let mut body = per_condition("H5", &|c| md_tables(&crate::markdown::ensembles_section(&c.ensembles)));
        if let Some(spec) = ensemble_figure(a) {
            body.push_str(&chart_html("ensemble-figure", &spec));
        }
        out.push_str(&section("d-h5", "H5: explicit seed ensembles", &outcomes_of("H5"), &body));
    }

    // Epoch-wise.
    let epochs = figures_named(figures, "epochs-");
    if a.conditions.iter().any(|c| !verdicts_where(c, "epoch-wise").is_empty()) {
        let mut body = per_condition("epoch-wise", &|c| md_tables(&crate::markdown::epochwise_section(&c.epochwise)));
        for f in epochs {
            body.push_str(&inline(f));
        }
        out.push_str(&section("d-epochs", "Epoch-wise double descent", &outcomes_of("epoch-wise"), &body));
    }

    // Across conditions: H2 and H3.
    let mut body = String::new();
    let mut outcomes = Vec::new();
    for x in &a.across {
        body.push_str(&verdict_block(&x.verdict, draws));
        outcomes.push(x.verdict.outcome);
    }
    for h in &a.width_adjusted {
        body.push_str(&verdict_block(&h.verdict, draws));
    }
    body.push_str(&verdict_block(&a.width_adjusted_verdict, draws));
    outcomes.push(a.width_adjusted_verdict.outcome);
    let forests = forest_plots(a);
    if !forests.is_empty() {
        body.push_str("<p>Each condition's effect with its 95% interval (hover a point for its numbers):</p>");
        for (id, spec) in &forests {
            body.push_str(&chart_html(id, spec));
        }
    }
    for name in ["width_adjusted", "onset_vs_peak"] {
        for f in figures.iter().filter(|f| f.name == name) {
            body.push_str(&inline(f));
        }
    }
    out.push_str(&section("d-across", "H2 and H3: across conditions", &outcomes, &body));

    // Settings replicated over data draws.
    if !a.replicated.is_empty() {
        let mut body = String::from(
            "<p>Conditions that differ only in their data draw (split, training subset, label flips) are replicates of one setting: each headline effect per draw with its t interval over draws, each prediction's outcome per draw, and the test error's variance split into initialisation and data.</p>\n",
        );
        body.push_str(&md_tables(&crate::markdown::draws_markdown(a)));
        let outcomes: Vec<Outcome> = a.replicated.iter().flat_map(|r| r.verdicts.iter().map(|v| v.outcome)).collect();
        out.push_str(&section("d-draws", "Data draws: the draw as the unit", &outcomes, &body));
    }
    // Known answers.
    if a.conditions.iter().any(|c| c.theory.is_some()) {
        let mut body = String::new();
        for c in &a.conditions {
            if let Some(t) = &c.theory {
                body.push_str(&heading(c));
                body.push_str(&md_tables(&crate::markdown::theory_section(t, c.n_train)));
            }
        }
        out.push_str(&section("d-theory", "Known answer: the closed-form risk", &[], &body));
    }
    // What each condition concluded, and what was not measured.
    let mut body = String::new();
    for c in &a.conditions {
        body.push_str(&heading(c));
        if !c.missing_metrics.is_empty() {
            body.push_str(&format!("<p>Not measured: {}.</p>\n", escape(&c.missing_metrics.join(", "))));
        }
        body.push_str(&format!("<p>{}</p>\n", escape(&c.conclusion)));
    }
    out.push_str(&section("d-conclusions", "Each condition's conclusion, as analysis.md words it", &[], &body));
    out
}

const HYPOTHESIS: &str =
    "the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions.";

pub fn report_html(inputs: &ReportInputs) -> String {
    let a = inputs.analysis;
    let mut body = format!(
        "<header><h1>ddlab report: {}</h1><p class=\"hypothesis\">Hypothesis: {HYPOTHESIS}</p></header>\n",
        escape(inputs.sweep_name)
    );
    body.push_str("<div id=\"first-screen\">\n");
    body.push_str(&answer(a));
    body.push_str("<section id=\"key\">\n");
    body.push_str(&chart_html("key-figure", &key_figure(a)));
    body.push_str(
        "<p class=\"caption\">Mean over seeds (line and points) with its 95% interval (band); dashed: train error, and each metric at initialisation. Vertical lines, in each condition's colour: dashed, the test-error peak (dash-dot where the peak test did not find it); dotted, the interpolation threshold. Hover a point for its value, interval and seeds; the boxes above show or hide panels and conditions.</p>\n",
    );
    body.push_str("</section>\n</div>\n");
    body.push_str(&details(a, &inputs.figures));
    let header: Vec<&str> = inputs.runs_header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = inputs.runs_rows.iter().map(|r| r.iter().map(|c| escape(c)).collect()).collect();
    body.push_str(&section(
        "d-runs",
        &format!("Runs ({}; click a column to sort)", inputs.runs_rows.len()),
        &[],
        &table("runs", "sortable", &header, &rows),
    ));
    body.push_str(&section("d-spec", "Spec", &[], &format!("<pre>{}</pre>", escape(inputs.spec_toml))));
    body.push_str("<div id=\"ddlab-tooltip\" role=\"tooltip\"></div>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>ddlab: {}</title>\n<style>{}</style></head>\n<body>\n{}<script>{}</script>\n</body></html>\n",
        escape(inputs.sweep_name),
        STYLE,
        body,
        SCRIPT
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1500px;margin:0 auto;padding:0 16px;color:#222;line-height:1.35}\
header h1{font-size:1.3em;margin:10px 0 2px}.hypothesis{margin:0 0 8px;color:#444;font-size:.92em}\
#first-screen{display:grid;grid-template-columns:minmax(300px,5fr) 9fr;gap:20px;align-items:start}\
@media (max-width:1000px){#first-screen{grid-template-columns:1fr}}\
#answer h2{font-size:1.1em;margin:4px 0}#answer p{margin:6px 0;font-size:.93em}.tally{font-weight:600}.hint,.caption{color:#555;font-size:.85em}\
.o{font-weight:600;padding:0 3px;border-radius:3px}.o.supported{color:#1a6b1a;background:#e4f4e4}.o.contradicted{color:#a11;background:#fbe6e6}\
.o.not-testable{color:#555;background:#eee}.o.inconclusive{color:#7a5a00;background:#fbf1d6}\
.chart-controls{font-size:.82em;margin:2px 0 4px}.chart-controls label{margin-right:8px;white-space:nowrap;cursor:pointer}\
.chart-svg{display:block;font-size:11px}.chart-svg .tick{fill:#555}.chart-svg .panel-title{font-weight:600;fill:#333}\
.chart-svg .marker-label{font-size:10px}.forest rect.point{fill:#555}.forest rect.o-supported{fill:#1a6b1a}.forest rect.o-contradicted{fill:#a11}.forest rect.o-inconclusive{fill:#7a5a00}.chart-svg .empty{fill:#888;font-style:italic}.chart-svg circle.point.hover{stroke:#000;stroke-width:2}.chart-svg .axis-label{fill:#333}\
#ddlab-tooltip{position:absolute;display:none;background:#fff;border:1px solid #888;padding:5px 8px;font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.2);pointer-events:none;max-width:420px;z-index:10}\
details{border-top:1px solid #ddd;padding:4px 0}details>summary{cursor:pointer;font-weight:600;padding:4px 0}details.inner{border:0;margin-left:1em}details.inner>summary{font-weight:normal}\
.section{padding:0 0 8px 12px}.verdict p{margin:6px 0}\
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}th,td{border:1px solid #ccc;padding:2px 7px;text-align:right}\
th{background:#f0f0f0}td:first-child{text-align:left}table.sortable th{cursor:pointer}table.sortable th[data-sort=asc]::after{content:' \\25B2'}table.sortable th[data-sort=desc]::after{content:' \\25BC'}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-style:italic;text-align:center;font-size:.9em}pre{background:#f6f6f6;padding:1em;overflow:auto}";
