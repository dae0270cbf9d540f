//! analysis.md: a verdict per prediction (outcome, reason, numbers), as in analysis.json, with what
//! was left out (diverged runs, undefined values).

use std::collections::BTreeMap;

use ddlab_analysis::{Analysis, ConditionAnalysis, MetricVerdict, Verdict};

/// A number in a table: 3 significant digits, plain for moderate magnitudes.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.2e}")
    }
}

/// The numbers of a verdict as `name = value` pairs.
pub(crate) fn numbers(n: &BTreeMap<String, f64>) -> String {
    n.iter().map(|(k, v)| format!("{k} = {}", num(*v))).collect::<Vec<_>>().join(", ")
}

/// Table cells must not contain a bare `|`.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn verdict_row(v: &Verdict) -> String {
    format!(
        "| {} | {} | **{}** | {} | {} |\n",
        cell(&v.prediction),
        v.metric.as_deref().map_or("-".to_string(), |m| format!("`{m}`")),
        v.outcome.label(),
        cell(&v.reason),
        numbers(&v.numbers)
    )
}

const VERDICT_HEADER: &str = "| prediction | metric | outcome | reason | numbers |\n| --- | --- | --- | --- | --- |\n";

/// One metric's line: what entered, what was left out, and its two tests.
fn metric_row(m: &MetricVerdict) -> String {
    let onset = m.onset.as_ref().map_or("-".to_string(), |o| {
        format!(
            "{} [{}, {}], change {}/octave, Holm p {}",
            num(o.width),
            num(o.lo),
            num(o.hi),
            num(o.slope_change),
            num(o.p_holm)
        )
    });
    let past = m
        .past_peak
        .as_ref()
        .map_or("-".to_string(), |p| format!("{} [{}, {}], Holm p {}", num(p.slope), num(p.lo), num(p.hi), num(p.p_holm)));
    let v = &m.values;
    format!(
        "| `{}` | {} | {} | {} | {}{} | {} | {} | {} | {} |\n",
        m.metric,
        v.used,
        v.undefined,
        v.from_diverged_runs,
        v.unpaired,
        if v.tested_trained_values { " (no init control: trained values tested)" } else { "" },
        onset,
        m.h1.outcome.label(),
        past,
        m.past_peak_verdict.outcome.label()
    )
}

fn condition_section(c: &ConditionAnalysis) -> String {
    let mut out = format!("## {} (n_train = {}, label noise = {}, loss = {})\n\n", c.condition, c.n_train, c.label_noise, c.loss);
    out.push_str(&format!("Runs used: {}; diverged and left out: {}", c.runs_used, c.diverged.len()));
    if c.diverged.is_empty() {
        out.push_str(".\n\n");
    } else {
        let list: Vec<String> = c.diverged.iter().map(|d| format!("width {} seed {} ({})", d.width, d.seed, d.reason)).collect();
        out.push_str(&format!(" ({}).\n\n", list.join("; ")));
    }
    let interp = c.w_interp.map_or("not reached".to_string(), |w| w.to_string());
    let peak = match (&c.peak.peak, c.peak.p_value) {
        (Some(p), Some(pv)) => format!(
            "candidate peak W_peak = {} ({} above width {}, {} above width {}; p = {}, corrected for picking the peak)",
            p.width,
            num(p.drop_left),
            p.best_left,
            num(p.drop_right),
            p.best_right,
            num(pv)
        ),
        (Some(p), None) => format!("candidate peak at width {} (not testable)", p.width),
        (None, _) => "no interior candidate peak".to_string(),
    };
    let loss_peak = c.peak_loss.peak.as_ref().map_or("none".to_string(), |p| {
        format!("{}{}", p.width, c.peak_loss.p_value.map_or(String::new(), |pv| format!(" (p = {})", num(pv))))
    });
    out.push_str(&format!("Interpolation threshold W_interp = {interp}; {peak}. Test-loss peak: {loss_peak}.\n\n"));
    out.push_str("### Verdicts\n\n");
    out.push_str(VERDICT_HEADER);
    for v in &c.verdicts {
        out.push_str(&verdict_row(v));
    }
    if !c.metrics.is_empty() {
        out.push_str("\n### Metrics\n\nValues used / undefined / from diverged runs / unpaired (no init control of the same width and seed) are counts of probe values; undefined and unpaired values are left out of the growth curve and the tests.\n\n");
        out.push_str("| metric | used | undefined | diverged | unpaired | onset W_ens [95%] | H1 | past-peak slope [95%] | past-peak |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for m in &c.metrics {
            out.push_str(&metric_row(m));
        }
        out.push('\n');
        out.push_str(VERDICT_HEADER);
        for m in &c.metrics {
            out.push_str(&verdict_row(&m.h1));
            out.push_str(&verdict_row(&m.past_peak_verdict));
        }
    }
    if !c.missing_metrics.is_empty() {
        out.push_str(&format!(
            "\nNot measured in this condition: {}.\n",
            c.missing_metrics.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    out.push_str(&format!("\n{}\n\n", c.conclusion));
    out
}

/// The whole analysis.md.
pub fn verdict_markdown(analysis: &Analysis, sweep_name: &str) -> String {
    let o = &analysis.options;
    let mut out = format!("# Verdict: {sweep_name}\n\n");
    out.push_str("Hypothesis: the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions.\n\n");
    out.push_str(&format!(
        "Each prediction is a test at level {} (family-wise over the metrics, Holm): **supported** (the test rejects its null in the predicted direction), **contradicted** (the test did not find the predicted effect, or found the opposite; the reason says which) or **not testable** (too few seeds, widths or conditions, or no peak to refer to). Intervals are t intervals over seeds; the peak and onset p-values are calibrated by simulation ({} draws per design). Definitions: docs/SCIENCE.md, Statistics.\n\n",
        o.alpha, o.null_draws
    ));
    out.push_str(&format!(
        "## Overall\n\n{}\n\n| outcome | predictions |\n| --- | --- |\n| supported | {} |\n| contradicted | {} |\n| not testable | {} |\n\n",
        analysis.overall, analysis.tally.supported, analysis.tally.contradicted, analysis.tally.not_testable
    ));
    for c in &analysis.conditions {
        out.push_str(&condition_section(c));
    }
    if !analysis.across.is_empty() {
        out.push_str("## Across conditions (H2)\n\nDeming slope of log2 W_ens on log2 W_peak over the conditions with a detected peak and onset (joint seed-curve bootstrap interval); control: the same against log2 W_interp.\n\n| metric | conditions | slope [95%] | control slope [95%] | outcome | reason |\n| --- | --- | --- | --- | --- | --- |\n");
        let fmt = |s: Option<f64>, lo: Option<f64>, hi: Option<f64>| match (s, lo, hi) {
            (Some(s), Some(lo), Some(hi)) => format!("{} [{}, {}]", num(s), num(lo), num(hi)),
            (Some(s), _, _) => num(s),
            _ => "-".into(),
        };
        for a in &analysis.across {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | **{}** | {} |\n",
                a.metric,
                a.points.len(),
                fmt(a.slope, a.lo, a.hi),
                fmt(a.control_slope, a.control_lo, a.control_hi),
                a.verdict.outcome.label(),
                cell(&a.verdict.reason)
            ));
        }
        out.push('\n');
    }
    out
}
