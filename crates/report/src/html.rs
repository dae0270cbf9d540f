//! report.html: one self-contained page (figures inline as SVG, no network) with the spec, the verdict
//! tables, the figures and the runs table.

use ddlab_analysis::{Analysis, Verdict};

use crate::markdown::{num, numbers};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A table from a header and rows of cells (already escaped).
fn table(id: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr>");
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
            out.push_str(&table("t", &header, &body));
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

/// The inputs of the page.
pub struct ReportInputs<'a> {
    pub sweep_name: &'a str,
    pub spec_toml: &'a str,
    pub analysis: &'a Analysis,
    /// (title, SVG text) of every figure.
    pub figures: Vec<(String, String)>,
    /// runs.csv as header + rows.
    pub runs_header: Vec<String>,
    pub runs_rows: Vec<Vec<String>>,
}

pub fn report_html(inputs: &ReportInputs) -> String {
    let a = inputs.analysis;
    let mut body = format!("<h1>ddlab report: {}</h1>\n", escape(inputs.sweep_name));
    body.push_str("<p>Hypothesis: the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions.</p>\n");
    body.push_str(&format!("<h2>Verdict</h2>\n<p class=\"overall\">{}</p>\n", escape(&a.overall)));
    if let Some(why) = &a.probes_not_applicable {
        body.push_str(&format!(
            "<p>No probes ran: {}. The predictions about the internal ensemble are not testable here.</p>\n",
            escape(why)
        ));
    }
    body.push_str(&table(
        "tally",
        &["supported", "contradicted", "not testable"],
        &[vec![a.tally.supported.to_string(), a.tally.contradicted.to_string(), a.tally.not_testable.to_string()]],
    ));
    let verdict_cells = |v: &Verdict| {
        vec![
            escape(&v.prediction),
            v.metric.as_deref().map_or("-".into(), |m| format!("<code>{}</code>", escape(m))),
            format!("<b class=\"{}\">{}</b>", v.outcome.label().replace(' ', "-"), v.outcome.label()),
            escape(&v.reason),
            escape(&numbers(&v.numbers)),
        ]
    };
    const VERDICT_HEADER: [&str; 5] = ["prediction", "metric", "outcome", "reason", "numbers"];
    for (ci, c) in a.conditions.iter().enumerate() {
        body.push_str(&format!("<h3>{}</h3>\n", escape(&c.condition)));
        let diverged: Vec<String> =
            c.diverged.iter().map(|d| format!("width {} seed {} ({})", d.width, d.seed, d.reason)).collect();
        body.push_str(&format!(
            "<p>n_train = {}, label noise = {}, loss = {}. Runs used: {}; diverged and left out: {}{}. W_interp = {}; candidate peak W_peak = {}{}.</p>\n",
            c.n_train,
            c.label_noise,
            c.loss,
            c.runs_used,
            c.diverged.len(),
            if diverged.is_empty() { String::new() } else { format!(" ({})", escape(&diverged.join("; "))) },
            c.w_interp.map_or("not reached".into(), |w| w.to_string()),
            c.peak.peak.as_ref().map_or("none".into(), |p| p.width.to_string()),
            c.peak.p_value.map_or(String::new(), |p| format!(" (p = {}, corrected for picking the peak)", num(p)))
        ));
        let rows: Vec<Vec<String>> =
            c.verdicts.iter().chain(c.metrics.iter().flat_map(|m| [&m.h1, &m.past_peak_verdict])).map(verdict_cells).collect();
        body.push_str(&table(&format!("verdict-{ci}"), &VERDICT_HEADER, &rows));
        let counts: Vec<Vec<String>> = c
            .metrics
            .iter()
            .map(|m| {
                vec![
                    format!("<code>{}</code>", escape(&m.metric)),
                    m.values.used.to_string(),
                    m.values.undefined.to_string(),
                    m.values.from_diverged_runs.to_string(),
                    format!(
                        "{}{}",
                        m.values.unpaired,
                        if m.values.tested_trained_values { " (trained values tested)" } else { "" }
                    ),
                ]
            })
            .collect();
        if !counts.is_empty() {
            body.push_str(&table(
                &format!("values-{ci}"),
                &["metric", "values used", "undefined", "from diverged runs", "unpaired"],
                &counts,
            ));
        }
        if let Some(t) = &c.theory {
            body.push_str(&format!("<h4>Known answer</h4>\n{}", md_tables(&crate::markdown::theory_section(t, c.n_train))));
        }
        // H5 and the epoch-wise view: the same tables as analysis.md, as preformatted Markdown would
        // lose their numbers' alignment, so they are rendered as tables here.
        body.push_str(&format!(
            "<h4>H5: explicit seed ensembles</h4>\n{}",
            md_tables(&crate::markdown::ensembles_section(&c.ensembles))
        ));
        body.push_str(&format!("<h4>Epoch-wise</h4>\n{}", md_tables(&crate::markdown::epochwise_section(&c.epochwise))));
        if !c.missing_metrics.is_empty() {
            body.push_str(&format!("<p>Not measured: {}.</p>\n", escape(&c.missing_metrics.join(", "))));
        }
        body.push_str(&format!("<p>{}</p>\n", escape(&c.conclusion)));
    }
    if !a.across.is_empty() {
        body.push_str("<h3>Across conditions (H2)</h3>\n");
        let rows: Vec<Vec<String>> = a.across.iter().map(|x| verdict_cells(&x.verdict)).collect();
        body.push_str(&table("across", &VERDICT_HEADER, &rows));
    }
    body.push_str("<h3>H3: the metric predicts the test error at a fixed width, across conditions</h3>\n");
    let rows: Vec<Vec<String>> = a
        .width_adjusted
        .iter()
        .map(|h| &h.verdict)
        .chain(std::iter::once(&a.width_adjusted_verdict))
        .map(verdict_cells)
        .collect();
    body.push_str(&table("h3", &VERDICT_HEADER, &rows));
    if !a.by_prediction.is_empty() {
        body.push_str("<h3>Per prediction</h3>\n");
        let rows: Vec<Vec<String>> = a
            .by_prediction
            .iter()
            .map(|p| {
                vec![
                    escape(&p.prediction),
                    p.tally.supported.to_string(),
                    p.tally.contradicted.to_string(),
                    p.tally.not_testable.to_string(),
                ]
            })
            .collect();
        body.push_str(&table("by-prediction", &["prediction", "supported", "contradicted", "not testable"], &rows));
    }
    body.push_str("<h2>Figures</h2>\n");
    for (title, svg) in &inputs.figures {
        // The SVG goes in as markup: plotters writes a plain <svg> element with width and height.
        body.push_str(&format!("<figure>{svg}<figcaption>{}</figcaption></figure>\n", escape(title)));
    }
    body.push_str("<h2>Runs</h2>\n");
    let header: Vec<&str> = inputs.runs_header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = inputs.runs_rows.iter().map(|r| r.iter().map(|c| escape(c)).collect()).collect();
    body.push_str(&table("runs", &header, &rows));
    body.push_str(&format!("<h2>Spec</h2>\n<pre>{}</pre>\n", escape(inputs.spec_toml)));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ddlab: {}</title>\n<style>{}</style></head>\n<body>\n{}</body></html>\n",
        escape(inputs.sweep_name),
        STYLE,
        body
    )
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f0f0f0}td:first-child{text-align:left}figure{margin:2em 0}figure svg{max-width:100%;height:auto}\
figcaption{font-style:italic;text-align:center}pre{background:#f6f6f6;padding:1em;overflow:auto}.overall{font-size:1.1em}";
