//! The analysis on synthetic curves with known answers.

use ddlab_analysis::*;

const WIDTHS: [usize; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// A small deterministic jitter per (width, seed).
fn jitter(w: usize, s: u64, scale: f64) -> f64 {
    let h = (w as u64 * 2654435761 + s * 40503).wrapping_mul(2862933555777941757) >> 40;
    ((h % 1000) as f64 / 1000.0 - 0.5) * scale
}

/// A double-descent test-error curve peaking at width 16.
fn error_at(w: usize) -> f64 {
    let t = (w as f64).log2();
    0.3 + 0.25 * (-(t - 4.0).powi(2) / 2.0).exp() - 0.02 * t + if t < 2.0 { 0.3 * (2.0 - t) } else { 0.0 }
}

fn condition(onset_octave: f64, metric: impl Fn(usize, u64) -> f64) -> ConditionInput {
    let mut input = ConditionInput { condition: "c".into(), n_train: 100, label_noise: 0.1, ..Default::default() };
    for &w in &WIDTHS {
        for s in 0..5 {
            let test_err = error_at(w) + jitter(w, s, 0.01);
            let train_err = (0.4 - 0.1 * (w as f64).log2()).max(0.0);
            input.runs.push(RunFigures {
                width: w,
                seed: s,
                train_err,
                train_loss: train_err,
                test_err,
                test_loss: 2.0 * test_err,
            });
            let growth = ((w as f64).log2() - onset_octave).max(0.0);
            let values = input.metrics.entry("partition/ambiguity_m2".into()).or_default();
            values.push(MetricValue { width: w, seed: Some(s), trained: false, value: 1.0 + jitter(w, s + 7, 0.02) });
            values.push(MetricValue { width: w, seed: Some(s), trained: true, value: 1.0 + growth + jitter(w, s, 0.02) });
            let other = input.metrics.entry("diversity/effective_rank".into()).or_default();
            other.push(MetricValue { width: w, seed: Some(s), trained: false, value: 0.0 });
            other.push(MetricValue { width: w, seed: Some(s), trained: true, value: metric(w, s) });
        }
    }
    input
}

fn options() -> Options {
    Options { resamples: 200, permutations: 999, ..Options::default() }
}

#[test]
fn planted_peak_and_onset_are_found_and_coincide() {
    let analysis = analyze(&[condition(4.0, |w, s| jitter(w, s, 1.0))], &options());
    let c = &analysis.conditions[0];
    let peak = c.peak.peak.as_ref().expect("a peak");
    assert_eq!(peak.width, 16);
    assert!(c.peak.detected, "{peak:?}");
    assert_eq!(c.w_interp, Some(16));
    let m = c.metrics.iter().find(|m| m.metric == "partition/ambiguity_m2").unwrap();
    let onset = m.w_ens.unwrap();
    assert!((onset.log2() - 4.0).abs() <= 0.25, "planted onset at 16, found {onset}");
    assert_eq!(m.coincides, Some(true));
    assert!(m.rho.unwrap() < -0.9, "growth and error fall together past the peak: {:?}", m.rho);
}

#[test]
fn an_onset_far_from_the_peak_does_not_coincide() {
    let analysis = analyze(&[condition(8.0, |w, s| jitter(w, s, 1.0))], &options());
    let m = analysis.conditions[0].metrics.iter().find(|m| m.metric == "partition/ambiguity_m2").unwrap();
    assert!((m.w_ens.unwrap().log2() - 8.0).abs() <= 0.25);
    assert_eq!(m.coincides, Some(false));
}

#[test]
fn a_metric_unrelated_to_the_error_gets_a_large_p_value() {
    let analysis = analyze(&[condition(4.0, |w, s| jitter(w * 31 + 5, s, 1.0))], &options());
    let m = analysis.conditions[0].metrics.iter().find(|m| m.metric == "diversity/effective_rank").unwrap();
    assert!(m.p_value.unwrap() > 0.1, "shuffled metric: p = {:?}", m.p_value);
}

#[test]
fn no_peak_means_no_double_descent() {
    let mut input = condition(4.0, |w, s| jitter(w, s, 1.0));
    for r in &mut input.runs {
        r.test_err = 1.0 / (r.width as f64 + 1.0) + jitter(r.width, r.seed, 0.001);
    }
    let analysis = analyze(&[input], &options());
    assert!(!analysis.conditions[0].peak.detected);
    assert!(analysis.conditions[0].conclusion.contains("no interior"));
}

#[test]
fn onset_moves_with_the_peak_across_conditions() {
    let mut a = condition(4.0, |w, s| jitter(w, s, 1.0));
    a.condition = "a".into();
    let mut b = condition(6.0, |w, s| jitter(w, s, 1.0));
    b.condition = "b".into();
    for r in &mut b.runs {
        // The same curve, shifted two octaves wider.
        r.test_err = error_at((r.width / 4).max(1)) + jitter(r.width, r.seed, 0.01) + if r.width < 4 { 0.3 } else { 0.0 };
    }
    let analysis = analyze(&[a, b], &options());
    assert_eq!(analysis.conditions[1].peak.peak.as_ref().unwrap().width, 64);
    let across = analysis.across.iter().find(|x| x.metric == "partition/ambiguity_m2").unwrap();
    assert!((across.slope.unwrap() - 1.0).abs() < 0.2, "{across:?}");
}

#[test]
fn small_statistics_have_their_known_values() {
    assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 100.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert!((partial_correlation(0.5, 0.5, 0.5) - (0.25 / 0.75)).abs() < 1e-12);
    let (a, b) = ols(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]);
    assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
    let t: Vec<f64> = (0..10).map(|i| i as f64).collect();
    let y: Vec<f64> = t.iter().map(|&x| if x < 4.0 { 1.0 } else { 1.0 + 2.0 * (x - 4.0) }).collect();
    assert!((hinge_onset(&t, &y).unwrap() - 4.0).abs() < 1e-9);
    // A hump turns at its top: rising to t = 6, falling after.
    let hump: Vec<f64> = t.iter().map(|&x| if x < 6.0 { x } else { 12.0 - x }).collect();
    assert!((hinge_onset(&t, &hump).unwrap() - 6.0).abs() < 1e-9);
    let peak = find_peak(&[1, 2, 3, 4, 5], &[0.9, 0.3, 0.6, 0.4, 0.2], &[0.01; 5]).unwrap();
    assert_eq!((peak.width, peak.best_left, peak.best_right), (3, 2, 5));
    assert!((peak.prominence_left - 0.3 / (0.0002f64).sqrt()).abs() < 1e-9);
}
