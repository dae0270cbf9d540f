//! report.html: one self-contained page (figures inline as SVG, no network) with the spec, the verdict
//! tables, the figures and the runs table.

use ddlab_analysis::Analysis;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.digits$}"))
}

fn interval(lo: Option<f64>, hi: Option<f64>) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!(" [{lo:.0}, {hi:.0}]"),
        _ => String::new(),
    }
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
    for (ci, c) in a.conditions.iter().enumerate() {
        body.push_str(&format!("<h3>{}</h3>\n", escape(&c.condition)));
        let peak = c.peak.peak.as_ref();
        body.push_str(&format!(
            "<p>W_interp = {}; W_peak = {}{}; prominence {} / {} standard errors; double descent detected: <b>{}</b>.</p>\n",
            c.w_interp.map_or("not reached".into(), |w| w.to_string()),
            peak.map_or("none".into(), |p| p.width.to_string()),
            interval(c.peak.lo, c.peak.hi),
            peak.map_or("-".into(), |p| format!("{:.1}", p.prominence_left)),
            peak.map_or("-".into(), |p| format!("{:.1}", p.prominence_right)),
            if c.peak.detected { "yes" } else { "no" }
        ));
        let rows: Vec<Vec<String>> = c
            .metrics
            .iter()
            .map(|m| {
                vec![
                    format!("<code>{}</code>", escape(&m.metric)),
                    format!("{}{}", opt(m.w_ens, 0), interval(m.w_ens_lo, m.w_ens_hi)),
                    format!("{}{}", peak.map_or("-".into(), |p| p.width.to_string()), interval(c.peak.lo, c.peak.hi)),
                    m.coincides.map_or("-".into(), |x| if x { "yes".into() } else { "no".into() }),
                    opt(m.rho, 2),
                    opt(m.partial_rho, 2),
                    opt(m.p_value, 4),
                ]
            })
            .collect();
        body.push_str(&table(
            &format!("verdict-{ci}"),
            &["metric", "W_ens [95%]", "W_peak [95%]", "coincides", "rho past peak", "partial rho", "p"],
            &rows,
        ));
        body.push_str(&format!("<p>{}</p>\n", escape(&c.conclusion)));
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
