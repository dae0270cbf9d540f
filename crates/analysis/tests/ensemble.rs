//! H3 (width-adjusted prediction across conditions), H5 (explicit ensembles) and the epoch-wise view
//! on synthetic inputs with known answers.

use ddlab_analysis::*;

const WIDTHS: [usize; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const METRIC: &str = "diversity/effective_rank";

/// A small deterministic jitter per (a, b), uniform in [-scale/2, scale/2).
fn jitter(a: u64, b: u64, scale: f64) -> f64 {
    let h = (a.wrapping_mul(2654435761) ^ b.wrapping_mul(40503).wrapping_add(977)).wrapping_mul(2862933555777941757) >> 40;
    ((h % 1000) as f64 / 1000.0 - 0.5) * scale
}

/// A double-descent test-error curve peaking at width 16 (height 0.25).
fn error_at(w: usize) -> f64 {
    let t = (w as f64).log2();
    0.3 + 0.25 * (-(t - 4.0).powi(2) / 2.0).exp() - 0.02 * t + if t < 2.0 { 0.3 * (2.0 - t) } else { 0.0 }
}

fn options() -> Options {
    Options { null_draws: 999, ..Options::default() }
}

/// A condition: test error `error_at(w) + err_shift(w, s)`, METRIC growth `growth(w, s)`.
fn condition(
    name: &str,
    seeds: u64,
    err_shift: impl Fn(usize, u64) -> f64,
    growth: impl Fn(usize, u64) -> f64,
) -> ConditionInput {
    let mut input = ConditionInput { condition: name.into(), n_train: 100, loss: LossSpace::Squared, ..Default::default() };
    for &w in &WIDTHS {
        for s in 0..seeds {
            let e = error_at(w) + err_shift(w, s);
            let train_err = (0.4 - 0.1 * (w as f64).log2()).max(0.0);
            input.runs.push(RunFigures {
                width: w,
                seed: s,
                train_err: Some(train_err),
                train_loss: Some(train_err),
                test_err: Some(e),
                test_loss: Some(e),
                diverged: None,
            });
            let values = input.metrics.entry(METRIC.into()).or_default();
            values.push(MetricValue { width: w, seed: Some(s), trained: false, value: Some(0.0) });
            values.push(MetricValue { width: w, seed: Some(s), trained: true, value: Some(growth(w, s)) });
        }
    }
    input
}

fn verdict<'a>(c: &'a ConditionAnalysis, prediction: &str) -> &'a Verdict {
    c.verdicts.iter().find(|v| v.prediction == prediction).unwrap()
}

#[test]
fn permutation_slope_counts_every_pairing() {
    // One column, y = 2x over 5 units: slope 2; of the 120 pairings only the identity and the
    // reversal (slope -2) reach |slope| 2, so p = 2/120.
    let x: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64]).collect();
    let y: Vec<Vec<f64>> = (0..5).map(|i| vec![2.0 * i as f64]).collect();
    let t = permutation_slope_test(&x, &y, 0.05, 100, 0).unwrap();
    assert!((t.slope - 2.0).abs() < 1e-12);
    assert_eq!(t.pairings, 120);
    assert!(t.exhaustive);
    assert!((t.p_value - 2.0 / 120.0).abs() < 1e-12, "{}", t.p_value);
    // A perfect fit: the inverted interval shrinks onto the slope.
    let (lo, hi) = (t.lo.unwrap(), t.hi.unwrap());
    assert!(lo <= 2.0 && hi >= 2.0 && hi - lo < 1e-6, "[{lo}, {hi}]");
    // Two units: the swap gives the same |slope|, so p = 1 and the interval is unbounded.
    let t2 = permutation_slope_test(&x[..2], &y[..2], 0.05, 100, 0).unwrap();
    assert_eq!(t2.p_value, 1.0);
    assert!(t2.lo.is_none() && t2.hi.is_none());
    // Levels per column do not make a slope: y = 10 * column + d, x = column + e with d and e
    // orthogonal across units. Within columns the slope is exactly 0 (pooling the columns gives ~10).
    let (d, e) = ([1.0, -1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0, 0.0, 0.0]);
    let x: Vec<Vec<f64>> = (0..6).map(|i| (0..4).map(|j| j as f64 + e[i]).collect()).collect();
    let y: Vec<Vec<f64>> = (0..6).map(|i| (0..4).map(|j| 10.0 * j as f64 + d[i]).collect()).collect();
    let t = permutation_slope_test(&x, &y, 0.05, 100, 0).unwrap();
    assert!(t.slope.abs() < 1e-12 && t.p_value == 1.0, "slope {} p {}", t.slope, t.p_value);
}

#[test]
fn h3_ignores_a_metric_that_depends_on_width_alone_and_finds_a_planted_effect() {
    // Six conditions (720 pairings). The metric is the same function of width in each, plus noise;
    // the conditions differ in their error level. Across widths the metric and the error move together.
    let null: Vec<ConditionInput> = (0..6u64)
        .map(|c| {
            condition(
                &format!("n{c}"),
                3,
                move |w, s| 0.03 * c as f64 + jitter(w as u64, s + 10 * c, 0.01),
                move |w, s| (w as f64).log2() + jitter(w as u64 + 7, s + 10 * c, 0.2),
            )
        })
        .collect();
    let a = analyze(&null, &options());
    let h3 = a.width_adjusted.iter().find(|h| h.metric == METRIC).unwrap();
    assert_eq!(h3.pairings, 720);
    assert_eq!(h3.widths.len(), WIDTHS.len());
    assert_ne!(h3.verdict.outcome, Outcome::Supported, "{:?}", h3.verdict);
    assert!(h3.p_value.unwrap() > 0.05, "{:?}", h3.verdict);
    assert_ne!(a.width_adjusted_verdict.outcome, Outcome::Supported);

    // Planted: condition c's metric is higher by u_c at every width and its error lower by 0.2 u_c.
    let u = [0.0, 0.3, -0.2, 0.1, -0.4, 0.25];
    let planted: Vec<ConditionInput> = (0..6u64)
        .map(|c| {
            let uc = u[c as usize];
            condition(
                &format!("p{c}"),
                3,
                move |w, s| -0.2 * uc + jitter(w as u64, s + 10 * c, 0.01),
                move |w, s| (w as f64).log2() + uc + jitter(w as u64 + 7, s + 10 * c, 0.02),
            )
        })
        .collect();
    let a = analyze(&planted, &options());
    let h3 = a.width_adjusted.iter().find(|h| h.metric == METRIC).unwrap();
    assert_eq!(h3.verdict.outcome, Outcome::Supported, "{:?}", h3.verdict);
    let (s, lo, hi) = (h3.slope.unwrap(), h3.lo.unwrap(), h3.hi.unwrap());
    assert!((s + 0.2).abs() < 0.03 && lo < -0.2 && hi > -0.2 && hi < 0.0, "{s} [{lo}, {hi}]");
    assert_eq!(a.width_adjusted_verdict.outcome, Outcome::Supported);
}

#[test]
fn h3_needs_two_conditions_and_enough_pairings() {
    let one = [condition("only", 3, |_, _| 0.0, |w, _| w as f64)];
    let a = analyze(&one, &options());
    assert_eq!(a.width_adjusted_verdict.outcome, Outcome::NotTestable);
    assert!(a.width_adjusted[0].verdict.reason.contains("1 condition(s)"), "{}", a.width_adjusted[0].verdict.reason);
    // Three conditions: 6 pairings, the smallest p-value 1/6 can never be below 0.05.
    let three: Vec<ConditionInput> =
        (0..3u64).map(|c| condition(&format!("c{c}"), 3, move |_, _| -0.1 * c as f64, move |w, _| w as f64 + c as f64)).collect();
    let a = analyze(&three, &options());
    let v = &a.width_adjusted[0].verdict;
    assert_eq!(v.outcome, Outcome::NotTestable, "{v:?}");
    assert!(v.reason.contains("6 pairings"), "{}", v.reason);
}

/// A condition with a peak at width 16 and seed-ensemble rows: `ens(k, w)` for k = 1..=3.
fn with_ensembles(ens: impl Fn(usize, usize, f64) -> f64) -> ConditionInput {
    let mut input = condition("e", 3, |w, s| jitter(w as u64, s, 0.01), |w, _| w as f64);
    let mean_err = |w: usize| {
        let v: Vec<f64> = input.runs.iter().filter(|r| r.width == w).filter_map(|r| r.test_err).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let rows: Vec<(String, MetricValue)> = (1..=3)
        .flat_map(|k| WIDTHS.iter().map(move |&w| (k, w)).collect::<Vec<_>>())
        .map(|(k, w)| {
            (
                format!("seed_ensemble/ensemble_err_k{k}"),
                MetricValue { width: w, seed: None, trained: true, value: Some(ens(k, w, mean_err(w))) },
            )
        })
        .collect();
    for (name, v) in rows {
        input.metrics.entry(name).or_default().push(v);
    }
    input
}

#[test]
fn an_ensemble_of_identical_predictors_changes_nothing() {
    // Every k-ensemble of identical nets is the single net: the curves coincide, the peak stays.
    let a = analyze(&[with_ensembles(|_, _, single| single)], &options());
    let c = &a.conditions[0];
    let e = &c.ensembles;
    assert_eq!(e.curves.len(), 3);
    for k in &e.curves {
        for (p, q) in k.points.iter().zip(&e.curves[0].points) {
            assert_eq!(p.mean, q.mean);
        }
    }
    assert_eq!(e.k_max, Some(3));
    assert!(e.reduction.unwrap().abs() < 1e-12 && e.k1_mismatch.unwrap() < 1e-12);
    let v = verdict(c, prediction::ENSEMBLE_PEAK);
    assert_eq!(v.outcome, Outcome::Contradicted, "{v:?}");
    assert!(e.lo.unwrap() < 0.0 && e.hi.unwrap() > 0.0);
}

#[test]
fn an_ensemble_that_flattens_the_peak_lowers_it() {
    // The k-ensemble removes (k - 1)/2 of the bump: all of it at k = 3.
    let bump = |w: usize| 0.25 * (-(((w as f64).log2() - 4.0).powi(2)) / 2.0).exp();
    let a = analyze(&[with_ensembles(move |k, w, single| single - (k - 1) as f64 / 2.0 * bump(w))], &options());
    let c = &a.conditions[0];
    let v = verdict(c, prediction::ENSEMBLE_PEAK);
    assert_eq!(v.outcome, Outcome::Supported, "{v:?}");
    let e = &c.ensembles;
    assert!(e.ensemble_prominence.unwrap() < 0.05 && e.single_prominence.unwrap() > 0.15, "{e:?}");
    // Lowering every width by the same amount leaves the peak: not supported.
    let a = analyze(&[with_ensembles(|k, _, single| single - 0.02 * (k - 1) as f64)], &options());
    assert_ne!(verdict(&a.conditions[0], prediction::ENSEMBLE_PEAK).outcome, Outcome::Supported);
}

#[test]
fn an_ensemble_whose_peak_moves_is_judged_by_its_own_peak() {
    // The ensemble keeps the whole bump but one octave wider (centred at 32 instead of 16): measured at
    // width 16 it would look lowered; at its own peak it is not.
    let bump = |w: usize, centre: f64| 0.25 * (-(((w as f64).log2() - centre).powi(2)) / 2.0).exp();
    let a = analyze(
        &[with_ensembles(move |k, w, single| if k == 1 { single } else { single - bump(w, 4.0) + bump(w, 5.0) })],
        &options(),
    );
    let c = &a.conditions[0];
    let v = verdict(c, prediction::ENSEMBLE_PEAK);
    assert_ne!(v.outcome, Outcome::Supported, "{v:?}");
    assert_eq!(v.numbers["ensemble_peak_width"], 32.0, "{v:?}");
    assert!(
        (c.ensembles.ensemble_prominence.unwrap() - c.ensembles.single_prominence.unwrap()).abs() < 0.05,
        "{:?}",
        c.ensembles
    );
}

#[test]
fn explicit_ensembles_are_not_testable_without_their_rows() {
    let a = analyze(&[condition("plain", 3, |w, s| jitter(w as u64, s, 0.01), |w, _| w as f64)], &options());
    let c = &a.conditions[0];
    for p in [prediction::ENSEMBLE_PEAK, prediction::ENSEMBLE_KW] {
        let v = verdict(c, p);
        assert_eq!(v.outcome, Outcome::NotTestable, "{v:?}");
        assert!(v.reason.contains("rows"), "{}", v.reason);
    }
}

#[test]
fn one_wide_net_against_k_narrow_ones_is_judged_by_equivalence() {
    let mut input = with_ensembles(|_, _, single| single);
    for (k, diff) in [(2usize, 0.001), (4, 0.05)] {
        // Below the peak (width 16) the wide net errs far more: those widths must not count.
        for &w in &WIDTHS[..4] {
            for s in 0..3u64 {
                input.metrics.entry(format!("seed_ensemble/kw_err_diff_k{k}")).or_default().push(MetricValue {
                    width: w,
                    seed: Some(s),
                    trained: true,
                    value: Some(0.3),
                });
            }
        }
        for &w in &WIDTHS[4..10] {
            for s in 0..3u64 {
                input.metrics.entry(format!("seed_ensemble/kw_err_diff_k{k}")).or_default().push(MetricValue {
                    width: w,
                    seed: Some(s),
                    trained: true,
                    value: Some(diff + jitter(w as u64, s, 0.002)),
                });
                input.metrics.entry(format!("seed_ensemble/kw_disagreement_k{k}")).or_default().push(MetricValue {
                    width: w,
                    seed: Some(s),
                    trained: true,
                    value: Some(0.1),
                });
            }
        }
    }
    // k = 3: a difference that shrinks by 0.01 per octave of W, exactly: modelled against width.
    for &w in &WIDTHS[4..10] {
        for s in 0..3u64 {
            input.metrics.entry("seed_ensemble/kw_err_diff_k3".into()).or_default().push(MetricValue {
                width: w,
                seed: Some(s),
                trained: true,
                value: Some(0.1 - 0.01 * (w as f64).log2()),
            });
        }
    }
    let c = &analyze(std::slice::from_ref(&input), &options()).conditions[0];
    let kw: Vec<&KwComparison> = c.ensembles.kw.iter().filter(|c| c.k != 3).collect();
    let k3 = c.ensembles.kw.iter().find(|c| c.k == 3).unwrap();
    assert!((k3.trend.unwrap() + 0.01).abs() < 1e-9, "{k3:?}");
    assert!(kw[1].trend.unwrap().abs() < 0.002, "a constant difference has no trend: {:?}", kw[1].trend);
    assert_eq!(kw.len(), 2);
    assert!((kw[0].mean_diff.unwrap() - 0.001).abs() < 0.001 && kw[0].lo.unwrap() < 0.001 && kw[0].hi.unwrap() > 0.001);
    assert_eq!(kw[0].units, 3, "the wide net's seeds are the units");
    let (first, last) = (k3.at_first.as_ref().unwrap(), k3.at_last.as_ref().unwrap());
    let at = |w: usize| 0.1 - 0.01 * (w as f64).log2();
    assert!((first.value - at(WIDTHS[4])).abs() < 1e-12 && (last.value - at(WIDTHS[9])).abs() < 1e-12, "{k3:?}");
    // The verdict is on the largest k: 0.05 is far outside the margin.
    let v = verdict(c, prediction::ENSEMBLE_KW);
    assert_eq!(v.outcome, Outcome::Contradicted, "{v:?}");
    assert!(v.reason.contains("errs more"), "{}", v.reason);
    // A difference that crosses from +0.03 to -0.03 over the compared widths: pooled over widths it is
    // about 0, but the wide net errs more at the first W and less at the widest, each beyond the margin.
    let mut crossing = input.clone();
    crossing.metrics.retain(|n, _| !n.contains("kw_"));
    let (lo, hi) = ((WIDTHS[4] as f64).log2(), (WIDTHS[9] as f64).log2());
    for &w in &WIDTHS[4..10] {
        for s in 0..3u64 {
            let t = ((w as f64).log2() - lo) / (hi - lo);
            crossing.metrics.entry("seed_ensemble/kw_err_diff_k2".into()).or_default().push(MetricValue {
                width: w,
                seed: Some(s),
                trained: true,
                value: Some(0.03 - 0.06 * t + jitter(w as u64, s, 0.002)),
            });
        }
    }
    let c = &analyze(&[crossing], &options()).conditions[0];
    let v = verdict(c, prediction::ENSEMBLE_KW);
    assert!(c.ensembles.kw[0].mean_diff.unwrap().abs() < 0.005, "{:?}", c.ensembles.kw[0]);
    assert_eq!(v.outcome, Outcome::Contradicted, "{v:?}");
    assert!(v.reason.contains(&format!("at W = {}", WIDTHS[4])), "{}", v.reason);
    // With only k = 2 (difference 0.001, spread 0.002): equivalent within one point.
    input.metrics.retain(|n, _| !n.ends_with("_k4") && !n.ends_with("_k3"));
    let c = &analyze(&[input], &options()).conditions[0];
    assert_eq!(verdict(c, prediction::ENSEMBLE_KW).outcome, Outcome::Supported);
}

/// Epoch rows at widths 8, 32, 128 for epochs 1..=256 (and 0), `err(epoch, seed)`; snapshots of METRIC
/// every half octave with `growth(epoch, seed)` over an init value 1.
fn with_epochs(seeds: u64, err: impl Fn(usize, u64) -> f64, growth: impl Fn(usize, u64) -> f64) -> ConditionInput {
    let mut input = condition("epochs", seeds, |w, s| jitter(w as u64, s, 0.01), |w, _| w as f64);
    for w in [8usize, 32, 128] {
        for s in 0..seeds {
            for epoch in 0..=256usize {
                let e = err(epoch, s) + jitter(epoch as u64 * 31 + w as u64, s, 0.01);
                input.epochs.push(EpochFigures { width: w, seed: s, epoch, train_err: 0.0, test_err: e, test_loss: e });
            }
            let mut epochs: Vec<usize> = (0..=16).map(|j| (2f64.powf(j as f64 / 2.0)).round() as usize).collect();
            epochs.insert(0, 0);
            epochs.dedup();
            for epoch in epochs {
                let g = if epoch == 0 { 0.0 } else { growth(epoch, s) };
                input.snapshots.entry(METRIC.into()).or_default().push(SnapshotValue {
                    width: w,
                    seed: s,
                    epoch,
                    value: Some(1.0 + g + jitter(epoch as u64 + 3 * w as u64, s + 5, 0.02)),
                });
            }
        }
    }
    input
}

fn epoch_bump(epoch: usize) -> f64 {
    0.1 * (-(((epoch.max(1) as f64).log2() - 5.0).powi(2)) / (2.0 * 0.7 * 0.7)).exp()
}

#[test]
fn an_epoch_wise_peak_and_an_onset_at_it_are_found() {
    let input = with_epochs(
        3,
        |e, _| 0.1 + 0.3 * (-(e as f64) / 4.0).exp() + epoch_bump(e),
        |e, _| 0.1 * ((e.max(1) as f64).log2() - 5.0).max(0.0),
    );
    let c = &analyze(&[input], &options()).conditions[0];
    let ew = &c.epochwise;
    assert_eq!(ew.widths.len(), 3);
    assert_eq!(ew.rows_used, 3 * 3 * 257);
    for w in &ew.widths {
        assert!(w.detected, "width {}: {:?}", w.width, w.peak);
        let pe = w.peak.peak.as_ref().unwrap().width;
        assert!((24..=45).contains(&pe), "epoch-wise peak at {pe}");
        let m = &w.metrics[0];
        let o = m.onset.as_ref().unwrap();
        assert!(o.detected && m.coincides == Some(true), "{o:?}");
    }
    assert_eq!(verdict(c, prediction::EPOCH_PEAK).outcome, Outcome::Supported);
    assert_eq!(verdict(c, prediction::EPOCH_ONSET_FAMILY).outcome, Outcome::Supported);
    assert!(!ew.figure_widths.is_empty() && ew.figure_metrics == vec![METRIC.to_string()]);
}

#[test]
fn a_monotone_training_curve_has_no_epoch_wise_peak() {
    let input = with_epochs(3, |e, _| 0.1 + 0.3 * (-(e as f64) / 4.0).exp(), |e, _| 0.1 * (e.max(1) as f64).log2());
    let c = &analyze(&[input], &options()).conditions[0];
    assert!(c.epochwise.widths.iter().all(|w| !w.detected));
    assert_eq!(verdict(c, prediction::EPOCH_PEAK).outcome, Outcome::Contradicted);
    let v = verdict(c, prediction::EPOCH_ONSET_FAMILY);
    assert_eq!(v.outcome, Outcome::NotTestable);
    assert!(v.reason.contains("no epoch-wise peak"), "{}", v.reason);
}

#[test]
fn epoch_wise_skips_and_counts_non_finite_rows_and_needs_epochs() {
    let mut input = with_epochs(2, |e, _| 0.1 + epoch_bump(e), |_, _| 0.0);
    let n = input.epochs.len();
    input.epochs[10].test_err = f64::NAN;
    input.epochs[11].test_loss = f64::INFINITY;
    input.runs.iter_mut().find(|r| r.width == 8 && r.seed == 1).unwrap().diverged = Some("NaN loss".into());
    let c = &analyze(&[input], &options()).conditions[0];
    let ew = &c.epochwise;
    assert_eq!(ew.from_diverged_runs, 257);
    assert_eq!(ew.skipped_nonfinite, 2);
    assert_eq!(ew.rows_used, n - 257 - 2);
    // Two evaluation epochs only: not testable, with the reason.
    let mut input = condition("short", 3, |_, _| 0.0, |w, _| w as f64);
    for s in 0..3 {
        for epoch in [0, 1, 2] {
            input.epochs.push(EpochFigures { width: 8, seed: s, epoch, train_err: 0.1, test_err: 0.2, test_loss: 0.3 });
        }
    }
    let c = &analyze(&[input], &options()).conditions[0];
    let v = verdict(c, prediction::EPOCH_PEAK);
    assert_eq!(v.outcome, Outcome::NotTestable);
    assert!(v.reason.contains("2 evaluation epoch(s)"), "{}", v.reason);
    let plain = &analyze(&[condition("none", 3, |_, _| 0.0, |w, _| w as f64)], &options()).conditions[0];
    assert!(verdict(plain, prediction::EPOCH_PEAK).reason.contains("no per-epoch figures"));
    assert!(verdict(plain, prediction::EPOCH_ONSET_FAMILY).reason.contains("no probe snapshots"));
}

#[test]
fn the_reduction_interval_comes_from_the_seeds_left_out() {
    // Four seeds, each with its own offset of the test error at every width (a seed that errs more errs
    // more everywhere). The offsets cancel in a prominence (a difference of two widths), so leaving any
    // seed out of the single nets and of the ensemble (P5's leave-one-out rows, here the ensemble curve
    // plus the left-out seed's offset) gives the same reduction: the jackknife's interval has zero width.
    // The assumed interval (pooled two-sample over seeds, doubled) would count the offsets as noise.
    let offset = |s: u64| 0.01 * s as f64;
    let bump = |w: usize| 0.25 * (-(((w as f64).log2() - 4.0).powi(2)) / 2.0).exp();
    let mut input = condition("e", 4, |_, s| offset(s), |w, _| w as f64);
    let mean_err = |w: usize| error_at(w) + 0.015;
    for &w in &WIDTHS {
        for k in 1..=4 {
            let v = mean_err(w) - (k - 1) as f64 / 3.0 * bump(w);
            input.metrics.entry(format!("seed_ensemble/ensemble_err_k{k}")).or_default().push(MetricValue {
                width: w,
                seed: None,
                trained: true,
                value: Some(v),
            });
        }
        for s in 0..4 {
            input.metrics.entry("seed_ensemble/ensemble_err_without".into()).or_default().push(MetricValue {
                width: w,
                seed: Some(s),
                trained: true,
                value: Some(mean_err(w) - bump(w) + offset(s)),
            });
        }
    }
    let a = analyze(&[input.clone()], &options());
    let v = verdict(&a.conditions[0], prediction::ENSEMBLE_PEAK);
    assert_eq!(v.outcome, Outcome::Supported, "{v:?}");
    assert_eq!(v.numbers["jackknife_seeds"], 4.0, "{v:?}");
    assert!((v.numbers["hi"] - v.numbers["lo"]).abs() < 1e-9, "{v:?}");
    assert!(v.reason.contains("jackknife over 4 seeds"), "{}", v.reason);
    // Without the leave-one-out rows the sampling error is assumed, and the interval is wide.
    input.metrics.remove("seed_ensemble/ensemble_err_without");
    let a = analyze(&[input], &options());
    let v = verdict(&a.conditions[0], prediction::ENSEMBLE_PEAK);
    assert!(v.numbers["hi"] - v.numbers["lo"] > 0.01 && v.reason.contains("assumed"), "{v:?}");
}
