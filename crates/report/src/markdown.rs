//! analysis.md: the verdict table and its plain-language conclusions.

use ddlab_analysis::{Analysis, MetricVerdict, PeakSummary};

fn width(v: Option<f64>) -> String {
    v.map_or("-".into(), |w| format!("{w:.0}"))
}

fn interval(lo: Option<f64>, hi: Option<f64>) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!(" [{lo:.0}, {hi:.0}]"),
        _ => String::new(),
    }
}

fn number(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.digits$}"))
}

fn peak_cell(p: &PeakSummary) -> String {
    match &p.peak {
        Some(peak) => format!("{}{}", peak.width, interval(p.lo, p.hi)),
        None => "none".into(),
    }
}

fn row(m: &MetricVerdict, peak: &PeakSummary) -> String {
    format!(
        "| `{}` | {}{} | {} | {} | {} | {} | {} | {} |\n",
        m.metric,
        width(m.w_ens),
        interval(m.w_ens_lo, m.w_ens_hi),
        peak_cell(peak),
        m.coincides.map_or("-", |c| if c { "yes" } else { "no" }),
        number(m.rho, 2),
        number(m.partial_rho, 2),
        number(m.p_value, 4),
        m.n_past_peak,
    )
}

/// The whole analysis.md.
pub fn verdict_markdown(analysis: &Analysis, sweep_name: &str) -> String {
    let mut out = format!("# Verdict: {sweep_name}\n\n");
    out.push_str("Hypothesis: the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions.\n\n");
    out.push_str(&format!(
        "W_ens is the change point of the metric's trained-minus-init curve over log2 width (the breakpoint of a continuous two-segment least-squares fit); W_peak the test-error peak; intervals are 95% bootstrap intervals over seeds ({} resamples). \"coincides\": within {} octave and intervals overlapping. rho: Spearman correlation of the metric's growth with test error over the widths from the peak on (p: permutation test, {} permutations); partial rho: the same given log width (rank partial correlation; \"-\" where the test error or the metric is a strictly monotone function of width past the peak, so width alone orders it and nothing is left to correlate).\n\n",
        analysis.options.resamples, analysis.options.coincidence_octaves, analysis.options.permutations
    ));
    for c in &analysis.conditions {
        out.push_str(&format!("## {} (n_train = {}, label noise = {})\n\n", c.condition, c.n_train, c.label_noise));
        let interp = c.w_interp.map_or("not reached".to_string(), |w| w.to_string());
        match &c.peak.peak {
            Some(p) => out.push_str(&format!(
                "Interpolation threshold W_interp = {interp}. Test-error peak W_peak = {}{}, prominence {:.1} (left, vs width {}) and {:.1} (right, vs width {}) standard errors; double descent detected: **{}**. Test-loss peak: {}.\n\n",
                p.width,
                interval(c.peak.lo, c.peak.hi),
                p.prominence_left,
                p.best_left,
                p.prominence_right,
                p.best_right,
                if c.peak.detected { "yes" } else { "no" },
                peak_cell(&c.peak_loss)
            )),
            None => out.push_str(&format!("Interpolation threshold W_interp = {interp}. No interior test-error peak.\n\n")),
        }
        out.push_str(
            "| metric | W_ens [95%] | W_peak [95%] | coincides | rho past peak | partial rho | p | widths past peak |\n",
        );
        out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for m in &c.metrics {
            out.push_str(&row(m, &c.peak));
        }
        out.push_str(&format!("\n{}\n\n", c.conclusion));
    }
    if !analysis.across.is_empty() {
        out.push_str("## Across conditions\n\nSlope of log2 W_ens on log2 W_peak (1: the onset moves with the peak).\n\n| metric | conditions | slope [95%] |\n| --- | --- | --- |\n");
        for a in &analysis.across {
            let slope = match (a.slope, a.lo, a.hi) {
                (Some(s), Some(lo), Some(hi)) => format!("{s:.2} [{lo:.2}, {hi:.2}]"),
                (Some(s), _, _) => format!("{s:.2}"),
                _ => "-".into(),
            };
            out.push_str(&format!("| `{}` | {} | {slope} |\n", a.metric, a.points.len()));
        }
        out.push('\n');
    }
    out.push_str(&format!("## Overall\n\n{}\n", analysis.overall));
    out
}
