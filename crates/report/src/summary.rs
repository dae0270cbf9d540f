//! The answer in words: a short paragraph per condition made from its verdicts (where the peak is and
//! how sure; what each prediction found, with the numbers that matter), and one line for what is
//! tested across conditions. The report's first screen and analysis.md open with it.

use std::collections::BTreeMap;

use ddlab_analysis::{Analysis, ConditionAnalysis, Outcome, ReplicatedSetting, Verdict};

use crate::markdown::num;

/// A phrase with the outcome it is filed under.
pub struct Finding {
    pub outcome: Outcome,
    pub text: String,
}

/// The answer for one condition: the peak sentence, then the findings grouped by outcome.
pub struct ConditionAnswer {
    pub condition: String,
    pub setting: String,
    pub peak: String,
    pub findings: Vec<Finding>,
}

fn get(v: &Verdict, key: &str) -> Option<f64> {
    v.numbers.get(key).copied().filter(|x| x.is_finite())
}

fn interval(v: &Verdict) -> String {
    match (get(v, "lo"), get(v, "hi")) {
        (Some(lo), Some(hi)) => format!(" [{}, {}]", num(lo), num(hi)),
        _ => String::new(),
    }
}

fn count(x: Option<f64>) -> String {
    x.map_or("?".into(), |x| format!("{}", x.round() as i64))
}

/// A verdict in a few words with its two or three numbers; the prediction's own name when it is not
/// one the report knows how to phrase.
pub fn phrase(v: &Verdict) -> String {
    let p = v.prediction.as_str();
    let n = |k: &str| get(v, k);
    let of = |a: &str, b: &str| n(a).zip(n(b)).map(|(a, b)| format!("{} of {}", count(Some(a)), count(Some(b))));
    // A setting's verdicts over data draws carry `draws`.
    if p == "double descent detected"
        && let (Some(d), Some(pv)) = (n("draws"), n("p_value"))
    {
        return format!("a test-error peak, the {} draws' peak tests combined (Fisher p = {})", count(Some(d)), num(pv));
    }
    if p.starts_with("H5 averaging seeds")
        && let (Some(d), Some(r)) = (n("draws"), n("reduction"))
    {
        return format!(
            "averaging a draw's seeds lowers the peak by {}{} over {} draws (H5)",
            num(r),
            interval(v),
            count(Some(d))
        );
    }
    if p.starts_with("H1 onset at the peak (any metric") {
        return match of("metrics_supported", "metrics_tested") {
            Some(k) => format!("{k} internal-ensemble metrics start moving in their predicted direction at the peak (H1)"),
            None => "an internal-ensemble metric starts growing at the peak (H1)".into(),
        };
    }
    if p.starts_with("past-peak relation, width-adjusted (any metric") {
        return match of("metrics_supported", "metrics_tested") {
            Some(k) => format!("{k} metrics predict lower test error between seeds of one width, past the peak"),
            None => "a metric predicts lower test error between seeds of one width, past the peak".into(),
        };
    }
    if p.starts_with("H4")
        && let Some(alpha) = n("alpha")
    {
        let from = n("from_width").map_or(String::new(), |w| format!(" past its own peak at width {}", count(Some(w))));
        let per_param = match (n("alpha_params"), n("alpha_params_lo"), n("alpha_params_hi")) {
            (Some(a), Some(lo), Some(hi)) => format!(", P^-{} [{}, {}] in parameters", num(a), num(lo), num(hi)),
            _ => String::new(),
        };
        return format!(
            "seed variance changes as W^-{}{}{per_param}{from} (H4; 1 = averaging independent members, 1/2 = the variance account at depth 1)",
            num(alpha),
            interval(v)
        );
    }
    if p.starts_with("H5 averaging seeds")
        && let (Some(k), Some(r)) = (n("k"), n("reduction"))
    {
        return format!("averaging {} seeds lowers the peak by {}{} (H5)", count(Some(k)), num(r), interval(v));
    }
    if p.starts_with("H5 one net of width kW")
        && let Some(k) = n("k")
    {
        let k = count(Some(k));
        // The difference is modelled against width: its two ends, signed (positive: the wide net errs more).
        let at = |key: &str, width: &str| match (n(key), n(&format!("{key}_lo")), n(&format!("{key}_hi")), n(width)) {
            (Some(d), Some(lo), Some(hi), Some(w)) => {
                Some(format!("{} [{}, {}] at W = {}", num(d), num(lo), num(hi), count(Some(w))))
            }
            _ => None,
        };
        if let (Some(first), Some(last)) = (at("at_first", "first_width"), at("at_last", "last_width")) {
            let ends = if n("first_width") == n("last_width") { first } else { format!("{first}, {last}") };
            return format!("error of one net of width {k}W minus {k} nets of width W: {ends} (H5)");
        }
        if let Some(d) = n("mean_diff") {
            return format!("error of one net of width {k}W minus {k} nets of width W: {}{} (H5)", num(d), interval(v));
        }
    }
    if p.starts_with("epoch-wise double descent") {
        return match of("widths_with_peak", "widths_tested") {
            Some(k) => format!("{k} widths show an epoch-wise peak of the test error"),
            None => "an epoch-wise peak of the test error".into(),
        };
    }
    if p.starts_with("epoch-wise onset") {
        return "an ensemble onset at the epoch-wise peak".into();
    }
    if p.starts_with("H3") {
        return "a metric predicts the test error at a fixed width across conditions (H3)".into();
    }
    p.to_string()
}

fn peak_sentence(c: &ConditionAnalysis, null_draws: usize) -> String {
    let error = if c.regression { "test risk" } else { "test error" };
    let detected = c.verdicts.iter().find(|v| v.prediction == "double descent detected");
    let mean_at = |w: usize| c.curves.test_err.iter().find(|p| p.width == w).map(|p| p.mean);
    let interp = c
        .w_interp
        .map_or("no width interpolates the training set".into(), |w| format!("the training set is interpolated from width {w}"));
    match (detected, c.peak.peak.as_ref()) {
        (Some(v), Some(peak)) if v.outcome == Outcome::Supported => {
            let p = get(v, "p_value")
                .map_or(String::new(), |p| format!("; p {}, corrected for picking the peak", p_text(p, null_draws)));
            format!(
                "The {error} peaks at width {} ({}), {} above the lower side and {} above the widest widths{p}; {interp}.",
                peak.width,
                mean_at(peak.width).map_or("n/a".into(), num),
                get(v, "drop_left").map_or("?".into(), num),
                get(v, "drop_right").map_or("?".into(), num),
            )
        }
        (Some(v), _) => format!("No double descent was found ({}): {}; {interp}.", v.outcome.label(), v.reason),
        (None, _) => format!("The peak was not tested; {interp}."),
    }
}

/// "= p", or "≤ p" at the floor of a p-value simulated from `null_draws` draws (1 / (draws + 1)): there
/// it is a bound, not a value.
pub fn p_text(p: f64, null_draws: usize) -> String {
    let floor = 1.0 / (null_draws as f64 + 1.0);
    if p <= floor * (1.0 + 1e-9) { format!("≤ {}", num(p)) } else { format!("= {}", num(p)) }
}

pub fn condition_answer(c: &ConditionAnalysis, null_draws: usize) -> ConditionAnswer {
    let findings = c
        .verdicts
        .iter()
        .filter(|v| v.prediction != "double descent detected")
        .map(|v| Finding { outcome: v.outcome, text: phrase(v) })
        .collect();
    ConditionAnswer {
        condition: c.condition.clone(),
        setting: format!(
            "n_train = {}, label noise = {}, {} runs{}",
            c.n_train,
            c.label_noise,
            c.runs_used,
            if c.diverged.is_empty() { String::new() } else { format!(", {} diverged and left out", c.diverged.len()) }
        ),
        peak: peak_sentence(c, null_draws),
        findings,
    }
}

/// The findings of a list grouped by outcome, supported first: (outcome, phrases).
pub fn grouped(findings: &[Finding]) -> Vec<(Outcome, Vec<&str>)> {
    let order = |o: &Outcome| match o {
        Outcome::Supported => 0,
        Outcome::Contradicted => 1,
        Outcome::Inconclusive => 2,
        Outcome::NotTestable => 3,
    };
    let mut groups: BTreeMap<u8, (Outcome, Vec<&str>)> = BTreeMap::new();
    for f in findings {
        groups.entry(order(&f.outcome)).or_insert((f.outcome, Vec::new())).1.push(&f.text);
    }
    groups.into_values().collect()
}

/// The findings tested across conditions: H2 (one verdict per metric, counted per outcome) and H3.
pub fn across_findings(analysis: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    let total = analysis.across.len();
    for outcome in [Outcome::Supported, Outcome::Contradicted, Outcome::Inconclusive, Outcome::NotTestable] {
        let k = analysis.across.iter().filter(|x| x.verdict.outcome == outcome).count();
        if k > 0 {
            out.push(Finding {
                outcome,
                text: format!("the ensemble onset moves with the peak across conditions (H2), for {k} of {total} metrics"),
            });
        }
    }
    let h3 = &analysis.width_adjusted_verdict;
    out.push(Finding { outcome: h3.outcome, text: phrase(h3) });
    out
}

/// A setting replicated over data draws, in one paragraph: the effects with the draw as the unit, and how
/// much of a run's test-error variance the data draw carries at the widest width.
pub fn draws_paragraph(r: &ReplicatedSetting) -> String {
    let effect = |prefix: &str| r.effects.iter().find(|e| e.name.starts_with(prefix));
    let with_interval = |prefix: &str, what: &str| {
        effect(prefix).and_then(|e| match (e.mean, e.lo, e.hi) {
            (Some(m), Some(lo), Some(hi)) => Some(format!("{what} {} [{}, {}]", num(m), num(lo), num(hi))),
            _ => None,
        })
    };
    let mut parts: Vec<String> = [
        with_interval("peak height", "peak height above both sides"),
        with_interval("H4 alpha", "seed variance ~ W^-alpha with alpha"),
        with_interval("H5 peak lowered", "averaging seeds lowers the peak by"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(v) = r.variance.last()
        && v.init + v.data > 0.0
    {
        parts.push(format!(
            "at width {} the data draw carries {:.0}% of one run's test-error variance (initialisation {}, data {})",
            v.width,
            100.0 * v.data / (v.init + v.data),
            num(v.init),
            num(v.data)
        ));
    }
    let counted: Vec<String> =
        grouped(&r.verdicts.iter().map(|v| Finding { outcome: v.outcome, text: phrase(v) }).collect::<Vec<_>>())
            .into_iter()
            .map(|(o, texts)| format!("{}: {}", o.label(), texts.join("; ")))
            .collect();
    let counted =
        if counted.is_empty() { String::new() } else { format!("Counted verdicts over draws: {}. ", counted.join(". ")) };
    format!(
        "{counted}{} data draws of {} (the draw as the unit, 95% t intervals over draws): {}.",
        r.draws.len(),
        r.setting,
        parts.join("; ")
    )
}

/// The tally in one short line.
pub fn tally_line(analysis: &Analysis) -> String {
    let t = &analysis.tally;
    let draws = if analysis.replicated.is_empty() {
        ""
    } else {
        " (a setting replicated over data draws counts once, the draw as the unit)"
    };
    format!(
        "{} predictions over {} condition(s){draws}: {} supported, {} contradicted, {} inconclusive, {} not testable.",
        t.total(),
        analysis.conditions.len(),
        t.supported,
        t.contradicted,
        t.inconclusive,
        t.not_testable
    )
}
