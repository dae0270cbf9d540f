//! analysis.md: a verdict per prediction (outcome, reason, numbers), as in analysis.json, with what
//! was left out (diverged runs, undefined values).

use std::collections::BTreeMap;

use ddlab_analysis::{
    Analysis, Coefficient, ConditionAnalysis, CurvePoint, DECISION_SESOI, Decision, EpochWise, ExplicitEnsembles, Favoured,
    MetricVerdict, Pooled, SettingEstimate, StudyAnalysis, StudyEffect, TheoryAgreement, Verdict, tested_distance,
};

/// A number in a table: 3 significant digits, plain for moderate magnitudes. The report's script
/// prints its tooltips the same way (`fmt` in assets/chart.js).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&x.abs()) {
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
    if let Some(t) = &c.theory {
        out.push_str(&theory_section(t, c.n_train));
    }
    out.push_str(&ensembles_section(&c.ensembles));
    out.push_str(&epochwise_section(&c.epochwise));
    if !c.missing_metrics.is_empty() {
        out.push_str(&format!(
            "\nNot measured in this condition: {}.\n",
            c.missing_metrics.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    out.push_str(&format!("\n{}\n\n", c.conclusion));
    out
}

fn interval(m: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    match (m, lo, hi) {
        (Some(m), Some(lo), Some(hi)) => format!("{} [{}, {}]", num(m), num(lo), num(hi)),
        (Some(m), _, _) => format!("{} [unbounded]", num(m)),
        _ => "-".into(),
    }
}

fn value_at(points: &[CurvePoint], width: usize) -> String {
    points.iter().find(|p| p.width == width).map_or("-".into(), |p| num(p.mean))
}

/// The measured risk against its closed form, width by width.
pub(crate) fn theory_section(t: &TheoryAgreement, n: usize) -> String {
    let mut out = format!(
        "\n### Known answer\n\nMeasured test risk (mean over seeds, t 95% interval) against the closed-form expected risk of minimum-norm least squares (docs/SCIENCE.md, Known answers); tested where |p - n| >= {} (n = {n}), Bonferroni over the {} tested widths (each width's critical |t| at its own degrees of freedom). {}: {}\n\n| p | closed form | measured [95%] | seeds | t | critical | agrees |\n| --- | --- | --- | --- | --- | --- | --- |\n",
        tested_distance(n),
        t.tested,
        t.verdict.outcome.label(),
        t.verdict.reason
    );
    for p in &t.points {
        out.push_str(&format!(
            "| {} | {} | {} [{}, {}] | {} | {} | {} | {} |\n",
            p.width,
            p.theory.map_or("infinite".into(), num),
            num(p.mean),
            num(p.lo),
            num(p.hi),
            p.seeds,
            p.t.map_or("-".into(), num),
            p.critical.map_or("-".into(), num),
            p.agrees.map_or("not tested", |a| if a { "yes" } else { "no" })
        ));
    }
    out
}

pub(crate) fn ensembles_section(e: &ExplicitEnsembles) -> String {
    let mut out = String::from("\n### H5: explicit seed ensembles\n\n");
    if !e.curves.is_empty() {
        out.push_str(
            "Test error of the average of k seeds' outputs (one value per width: the seeds make one ensemble).\n\n| width |",
        );
        for k in &e.curves {
            out.push_str(&format!(" k = {} |", k.k));
        }
        out.push_str("\n| --- |");
        out.push_str(&" --- |".repeat(e.curves.len()));
        out.push('\n');
        let mut widths: Vec<usize> = e.curves.iter().flat_map(|k| k.points.iter().map(|p| p.width)).collect();
        widths.sort_unstable();
        widths.dedup();
        for w in widths {
            out.push_str(&format!("| {w} |"));
            for k in &e.curves {
                out.push_str(&format!(" {} |", value_at(&k.points, w)));
            }
            out.push('\n');
        }
        out.push_str("| prominence at the peak |");
        for k in &e.curves {
            out.push_str(&format!(" {} |", k.prominence.map_or("-".into(), num)));
        }
        out.push_str("\n\n");
        out.push_str(&format!(
            "Single-net prominence {}, k = {} ensemble {}; lowered by {} (95% interval from the seeds, doubled in variance for the ensemble's own sampling error).\n\n",
            e.single_prominence.map_or("-".into(), num),
            e.k_max.map_or("-".into(), |k| k.to_string()),
            e.ensemble_prominence.map_or("-".into(), num),
            interval(e.reduction, e.lo, e.hi)
        ));
    }
    if !e.kw.is_empty() {
        out.push_str("One net of width kW against k nets of width W: error difference (wide minus ensemble), fitted against log2 W seed by seed (the seeds are the units), at the first and the widest W compared, its mean over the widths, and the disagreement, per k.\n\n| k | widths | seeds | at the first W [95%] | at the widest W [95%] | mean over widths [95%] | mean disagreement |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        let end = |e: &Option<ddlab_analysis::Estimate>, w: Option<usize>| match (e, w) {
            (Some(e), Some(w)) => format!("{} (W = {w})", interval(Some(e.value), Some(e.lo), Some(e.hi))),
            _ => "-".into(),
        };
        for c in &e.kw {
            let dis: Vec<f64> = c.disagreement.iter().map(|p| p.mean).filter(|v| v.is_finite()).collect();
            let dis = if dis.is_empty() { "-".into() } else { num(dis.iter().sum::<f64>() / dis.len() as f64) };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                c.k,
                c.err_diff.len(),
                c.units,
                end(&c.at_first, c.first_width),
                end(&c.at_last, c.last_width),
                interval(c.mean_diff, c.lo, c.hi),
                dis
            ));
        }
        out.push('\n');
    }
    out.push_str(VERDICT_HEADER);
    out.push_str(&verdict_row(&e.verdict));
    out.push_str(&verdict_row(&e.kw_verdict));
    out
}

/// The epoch-wise view: per width, the epoch-wise peak and the metrics' onsets over epochs.
pub(crate) fn epochwise_section(ew: &EpochWise) -> String {
    let mut out = String::from("\n### Epoch-wise\n\n");
    out.push_str(&format!(
        "Per-epoch rows used: {}; non-finite and left out: {}; from diverged runs: {}. Epochs binned in quarter octaves (each seed's values averaged per bin).\n\n",
        ew.rows_used, ew.skipped_nonfinite, ew.from_diverged_runs
    ));
    if !ew.widths.is_empty() {
        out.push_str("| width | epochs | bins | seeds | epoch-wise peak (epoch) | Holm p | detected |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for w in &ew.widths {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                w.width,
                w.epochs,
                w.bins,
                w.seeds,
                w.peak.peak.as_ref().map_or("-".into(), |p| p.width.to_string()),
                w.p_holm.map_or("-".into(), num),
                if w.detected { "yes" } else { "no" }
            ));
        }
        out.push('\n');
    }
    for (w, why) in &ew.untested_widths {
        out.push_str(&format!("Width {w} not analysed over epochs: {why}.\n"));
    }
    out.push_str(VERDICT_HEADER);
    out.push_str(&verdict_row(&ew.peak_verdict));
    out.push_str(&verdict_row(&ew.onset_verdict));
    for m in ew.widths.iter().flat_map(|w| &w.metrics) {
        out.push_str(&verdict_row(&m.verdict));
    }
    out
}

/// The answer first: the tally and a paragraph per condition (crate::summary).
/// Settings replicated over data draws: the test error's variance split per width, and every headline
/// effect per draw with its mean and t interval over draws (docs/SCIENCE.md, "Data draws").
pub(crate) fn draws_markdown(analysis: &Analysis) -> String {
    if analysis.replicated.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "## Data draws\n\nConditions that differ only in their data draw (`conditions.data_seed`: split, training subset, label flips) are replicates of one setting; here the draw is the unit (t intervals over draws).\n\n",
    );
    let opt = |x: Option<f64>| x.map_or("-".to_string(), num);
    for r in &analysis.replicated {
        let draws: Vec<String> = r.draws.iter().map(|(d, _)| d.to_string()).collect();
        out.push_str(&format!("### {} ({} draws: {})\n\n", r.setting, r.draws.len(), draws.join(", ")));
        out.push_str("| effect | mean over draws [95%] | per draw |\n| --- | --- | --- |\n");
        for e in &r.effects {
            let per: Vec<String> = e.values.iter().map(|(d, v)| format!("{d}: {}", num(*v))).collect();
            out.push_str(&format!(
                "| {} | {} [{}, {}] | {} |\n",
                cell(&e.name),
                opt(e.mean),
                opt(e.lo),
                opt(e.hi),
                per.join("; ")
            ));
        }
        out.push_str("\n| prediction | outcome per draw |\n| --- | --- |\n");
        for o in &r.outcomes {
            let per: Vec<String> = o.outcomes.iter().map(|(d, x)| format!("{d}: {}", x.label())).collect();
            out.push_str(&format!("| {} | {} |\n", cell(&o.prediction), per.join("; ")));
        }
        if !r.verdicts.is_empty() {
            out.push_str("\nThe setting's counted verdicts, the draw as the unit (docs/SCIENCE.md, \"Verdicts over draws\"; they replace the draws' own verdicts of these predictions in the tally):\n\n");
            out.push_str(VERDICT_HEADER);
            for v in r.verdicts.iter().chain(&r.metric_verdicts) {
                out.push_str(&verdict_row(v));
            }
        }
        out.push_str("\nTest-error variance of one run, split (initialisation: between seeds of a draw; data: between draws, the random-effects estimate):\n\n| width | initialisation | data | data share | draws | seeds |\n| --- | --- | --- | --- | --- | --- |\n");
        for v in &r.variance {
            let total = v.init + v.data;
            let share = if total > 0.0 { num(v.data / total) } else { "-".into() };
            out.push_str(&format!("| {} | {} | {} | {share} | {} | {} |\n", v.width, num(v.init), num(v.data), v.draws, v.seeds));
        }
        out.push('\n');
    }
    out
}

fn answer_markdown(analysis: &Analysis) -> String {
    use crate::summary::{across_findings, condition_answer, grouped, tally_line};
    let words = |findings: &[crate::summary::Finding]| {
        grouped(findings)
            .into_iter()
            .map(|(o, texts)| format!("**{}**: {}.", o.label(), texts.join("; ")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::from("## Answer\n\n");
    if let Some(d) = &analysis.decision {
        out.push_str(&format!("**Which account** (interventions at a fixed width, section below): {}\n\n", decision_line(d)));
    }
    out.push_str(&format!("{}\n\n", tally_line(analysis)));
    for r in &analysis.replicated {
        out.push_str(&format!("**Over data draws.** {}\n\n", crate::summary::draws_paragraph(r)));
    }
    for c in &analysis.conditions {
        let a = condition_answer(c, analysis.options.null_draws);
        out.push_str(&format!("**{}** ({}). {} {}\n\n", a.condition, a.setting, a.peak, words(&a.findings)));
    }
    let across = across_findings(analysis);
    if analysis.conditions.len() > 1 && !across.is_empty() {
        out.push_str(&format!("**Across conditions.** {}\n\n", words(&across)));
    }
    out
}

/// The decision's outcome in words, with its reason.
fn decision_line(d: &Decision) -> String {
    let outcome = match d.favoured {
        Favoured::InternalEnsemble => "**the internal ensemble** (the hypothesis) is favoured",
        Favoured::VarianceDecay => "**variance decay** (the rival account) is favoured",
        Favoured::Inconclusive => "**inconclusive**",
        Favoured::NotTestable => "**not testable**",
    };
    format!("{outcome}: {}.", d.reason)
}

/// The decision between the accounts: the rule's coefficients over the units.
fn decision_markdown(d: &Decision) -> String {
    let mut out = format!(
        "## Deciding between the accounts\n\nConditions that differ only in their intervention (output scale, centring, parameterisation) are the interventions of one replicate (a setting's data draw). Per replicate, at and past its threshold and within widths, the second descent still to come is regressed on the seed variance still to decay and on each internal measure's growth still to come (with the variance held); over {} {} (t intervals), the rule of docs/SCIENCE.md, Statistics, \"Deciding between the accounts\" (smallest effect {DECISION_SESOI} test error per within-width sd). {}\n\n",
        d.units,
        d.unit,
        decision_line(d)
    );
    let rows: Vec<&Coefficient> = d.seed_variance.iter().chain(&d.internal).collect();
    if !rows.is_empty() {
        out.push_str("| predictor | per sd [95%] | one-sided p | Holm p | power at the SESOI | bounded within the SESOI |\n| --- | --- | --- | --- | --- | --- |\n");
        for c in rows {
            out.push_str(&format!(
                "| {} | {} [{}, {}] | {} | {} | {:.2} | {} |\n",
                cell(&c.predictor),
                num(c.mean),
                num(c.lo),
                num(c.hi),
                num(c.p),
                num(c.p_adjusted),
                c.power,
                if c.bounded { "yes" } else { "no" }
            ));
        }
        out.push('\n');
    }
    if !d.without_cells.is_empty() {
        out.push_str(&format!("Replicates without cells: {}.\n\n", d.without_cells.join("; ")));
    }
    if !d.left_out.is_empty() {
        out.push_str(&format!("Left out of the fits: {}.\n\n", d.left_out.join("; ")));
    }
    out
}

/// The whole analysis.md.
pub fn verdict_markdown(analysis: &Analysis, sweep_name: &str) -> String {
    let o = &analysis.options;
    let mut out = format!("# Verdict: {sweep_name}\n\n");
    out.push_str("Hypothesis: the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions.\n\n");
    out.push_str(&format!(
        "Each prediction is a test at level {} (family-wise over the metrics, Holm): **supported** (the test rejects its null in the predicted direction), **contradicted** (the data exclude every effect as large as the smallest effect of interest fixed in docs/SCIENCE.md, or show the opposite; the reason says which), **inconclusive** (neither: the reason gives the interval and the power the design had) or **not testable** (too few seeds, widths or conditions, or no peak to refer to). Intervals are t intervals over seeds; the peak and onset p-values are calibrated by simulation ({} draws per design). Definitions: docs/SCIENCE.md, Statistics.\n\n",
        o.alpha, o.null_draws
    ));
    out.push_str(&answer_markdown(analysis));
    out.push_str(&format!(
        "## Overall\n\n{}\n\n| outcome | predictions |\n| --- | --- |\n| supported | {} |\n| contradicted | {} |\n| inconclusive | {} |\n| not testable | {} |\n\n",
        analysis.overall,
        analysis.tally.supported,
        analysis.tally.contradicted,
        analysis.tally.inconclusive,
        analysis.tally.not_testable
    ));
    if let Some(why) = &analysis.probes_not_applicable {
        out.push_str(&format!("No probes ran: {why}. The predictions about the internal ensemble are not testable here.\n\n"));
    }
    if !analysis.by_prediction.is_empty() {
        out.push_str(
            "| prediction | supported | contradicted | inconclusive | not testable |\n| --- | --- | --- | --- | --- |\n",
        );
        for p in &analysis.by_prediction {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&p.prediction),
                p.tally.supported,
                p.tally.contradicted,
                p.tally.inconclusive,
                p.tally.not_testable
            ));
        }
        out.push('\n');
    }
    if let Some(d) = &analysis.decision {
        out.push_str(&decision_markdown(d));
    }
    out.push_str(&draws_markdown(analysis));
    for c in &analysis.conditions {
        out.push_str(&condition_section(c));
    }
    if !analysis.across.is_empty() {
        out.push_str("## Across conditions (H2)\n\nDeming slope of log2 W_ens on log2 W_peak over the conditions with a detected peak and onset (interval: a jackknife over the conditions, leaving out a setting's data draws together, at its Holm level); control: the same against log2 W_interp.\n\n| metric | conditions | slope [95%] | control slope [95%] | outcome | reason |\n| --- | --- | --- | --- | --- | --- |\n");
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
    out.push_str("## H3: the metric predicts the test error at a fixed width, across conditions\n\nWithin-width slope of the conditions' mean test error on their mean growth (a fixed effect per width); permutation p-value over pairings of conditions' metric curves with their error curves, Holm across metrics; interval by inverting the permutation test. p (t) is the parametric within-width test, valid only if condition-width cells are independent (reported, not used).\n\n");
    if !analysis.width_adjusted.is_empty() {
        out.push_str("| metric | conditions | shared widths | slope [95%] | p | Holm p | p (t) | outcome | reason |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for h in &analysis.width_adjusted {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | **{}** | {} |\n",
                h.metric,
                h.conditions.len(),
                h.widths.len(),
                interval(h.slope, h.lo, h.hi),
                h.p_value.map_or("-".into(), num),
                h.p_holm.map_or("-".into(), num),
                h.p_value_t.map_or("-".into(), num),
                h.verdict.outcome.label(),
                cell(&h.verdict.reason)
            ));
        }
        out.push('\n');
    }
    out.push_str(VERDICT_HEADER);
    out.push_str(&verdict_row(&analysis.width_adjusted_verdict));
    out.push('\n');
    out
}

/// A study's pool in words: `mean [lo, hi] over K settings, I^2 = x%`.
fn pooled_words(p: &Pooled) -> String {
    let floor = if p.floored { " (interval from the settings' own sampling error, which exceeds their spread)" } else { "" };
    let heterogeneity = match (p.i2, p.tau2) {
        (Some(i2), Some(tau2)) => format!("I^2 = {:.0}% (tau^2 = {})", 100.0 * i2, num(tau2)),
        _ => "I^2 undefined (a setting's draws agree exactly)".to_string(),
    };
    format!("{} [{}, {}] over {} settings{floor}, {heterogeneity}", num(p.mean), num(p.lo), num(p.hi), p.settings)
}

/// One effect's forest as a table: each setting, then the pool.
/// A table row of one estimate over draws: name, draws, mean [95%].
fn estimate_row(s: &SettingEstimate) -> String {
    format!("| {} | {} | {} |\n", cell(&s.setting), s.draws, interval(Some(s.mean), s.lo, s.hi))
}

fn forest_table(e: &StudyEffect, figure: &str) -> String {
    let mut out = format!(
        "### {}\n\n![{}](figures/{figure}.svg)\n\n| setting | draws | mean [95%] |\n| --- | --- | --- |\n",
        e.name, e.name
    );
    for s in &e.settings {
        out.push_str(&estimate_row(s));
    }
    match (&e.pooled, &e.why_not_pooled) {
        (Some(p), _) => out.push_str(&format!("| **pooled (random effects)** | | {} |\n\n", pooled_words(p))),
        (None, why) => out.push_str(&format!("\nNot pooled: {}.\n\n", why.as_deref().unwrap_or("too few settings"))),
    }
    if !e.incomplete_draws.is_empty() {
        let left: Vec<String> = e.incomplete_draws.iter().map(|(s, n)| format!("{s} ({n})")).collect();
        out.push_str(&format!(
            "Draws in which one of the setting's interventions leaves the effect undefined (the draw's value is the mean over the others): {}.\n\n",
            left.join(", ")
        ));
    }
    if !e.interventions.is_empty() {
        out.push_str("Each intervention on its own (it shares its draws with its setting's other interventions: descriptive, not pooled):\n\n| intervention | draws | mean [95%] |\n| --- | --- | --- |\n");
        for s in &e.interventions {
            out.push_str(&estimate_row(s));
        }
        out.push('\n');
    }
    out
}

/// The figure name of a study effect.
pub fn forest_name(effect: &str) -> String {
    let slug: String = effect.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    format!("forest-{}", slug.trim_matches('-'))
}

/// study.md: the study's answer first (the decision between the accounts over every sweep, then each
/// effect's pool), the sweeps with links to their reports, then each forest.
pub fn study_markdown(study: &StudyAnalysis, folder: &str) -> String {
    let mut out = format!("# Study: {folder}\n\n");
    out.push_str("Hypothesis: the second descent of the test error coincides with the growth of the network's internal ensemble of sub-functions. Rival: it is the seed variance decaying with width. A study pools several sweeps (docs/SCIENCE.md, Statistics, \"Studies: several sweeps as one\"): each setting (a sweep's setting without its intervention, replicated over data draws) is a unit; its value in a draw is the mean over its interventions, which share the draw, its estimate the mean over its draws, and the settings are pooled with a two-stage random-effects model (the mean over settings, each weighted equally, with a 95% t interval on K - 1 degrees of freedom never narrower than the settings' own sampling error; DerSimonian-Laird tau^2 and I^2, the share of the spread that is heterogeneity, beside it).\n\n## Answer\n\n");
    match &study.decision {
        Some(d) => out.push_str(&format!("**Which account** (over {} {}): {}\n\n", d.units, d.unit, decision_line(d))),
        None => out.push_str("**Which account**: no sweep of this study crosses interventions, so the decision between the accounts is not made.\n\n"),
    }
    let pooled: Vec<String> =
        study.effects.iter().filter_map(|e| e.pooled.as_ref().map(|p| format!("{}: {}", e.name, pooled_words(p)))).collect();
    if !pooled.is_empty() {
        out.push_str(&format!("**Pooled effects.** {}.\n\n", pooled.join("; ")));
    }
    out.push_str("## Sweeps\n\n| sweep | experiment | report | verdict |\n| --- | --- | --- | --- |\n");
    for s in &study.sweeps {
        out.push_str(&format!(
            "| {} | {} | [report.html](../{}/report.html) | [analysis.md](../{}/analysis.md) |\n",
            s.name, s.experiment, s.name, s.name
        ));
    }
    out.push('\n');
    if !study.unreplicated.is_empty() {
        out.push_str(&format!(
            "Conditions without data draws (no replicate-level interval; left out of the pools): {}.\n\n",
            study.unreplicated.join(", ")
        ));
    }
    if let Some(d) = &study.decision {
        out.push_str(&decision_markdown(d).replacen(
            "## Deciding between the accounts",
            "## Deciding between the accounts over the study",
            1,
        ));
        for e in &study.decision_forest {
            out.push_str(&forest_table(e, &forest_name(&e.name)));
        }
    }
    out.push_str("## Effects per setting\n\n");
    for e in &study.effects {
        out.push_str(&forest_table(e, &forest_name(&e.name)));
    }
    out
}
