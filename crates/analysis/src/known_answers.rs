//! Every statistic against a hand-computed answer (unit tests: the helpers they check are the crate's
//! own, not its public interface).

use crate::curve::*;
use crate::onset::*;
use crate::peak::*;
use crate::stats::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn t_interval_of_three_seeds_uses_two_degrees_of_freedom() {
    // mean 2, sd 1, se 1/sqrt(3), t(0.975; 2) = 4.302653: half-width 2.484138.
    let (lo, hi) = t_interval(&[1.0, 2.0, 3.0], 0.95);
    assert!(close(lo, 2.0 - 2.484138, 1e-5) && close(hi, 2.0 + 2.484138, 1e-5), "{lo} {hi}");
    assert!(t_interval(&[1.0], 0.95).0.is_nan());
    assert!(sd(&[1.0]).is_nan() && se(&[1.0]).is_nan());
}

#[test]
fn pooled_one_sided_t_test_matches_hand_computation() {
    // means 4 and 2, pooled variance 1 on 4 d.o.f., se sqrt(2/3): t = 2.449490, P(T4 >= t) = 0.035242.
    let (t, p) = one_sided_t(&[3.0, 4.0, 5.0], &[1.0, 2.0, 3.0]).unwrap();
    assert!(close(t, 6f64.sqrt(), 1e-9) && close(p, 0.035242, 1e-5), "{t} {p}");
    assert!(one_sided_t(&[1.0], &[0.0]).is_none());
}

#[test]
fn holm_adjusts_step_down_and_stays_monotone() {
    let adjusted = holm(&[0.01, 0.04, 0.03, f64::NAN]);
    assert!(close(adjusted[0], 0.03, 1e-12) && close(adjusted[1], 0.06, 1e-12) && close(adjusted[2], 0.06, 1e-12));
    assert!(adjusted[3].is_nan());
}

#[test]
fn within_group_slope_ignores_group_levels() {
    // Two widths at very different levels, the same slope 2 inside each: the pooled slope is 2, exactly.
    let fit = within_group_slope(&[vec![(0.0, 0.0), (1.0, 2.0), (2.0, 4.1)], vec![(10.0, 100.0), (12.0, 104.0), (11.0, 101.9)]])
        .unwrap();
    assert!(close(fit.slope, 2.0, 0.05), "{fit:?}");
    assert_eq!(fit.df, 3.0);
    // Across the groups alone the slope would be about 9.6: width would have made the relation.
    assert!(ols(&[0.0, 1.0, 2.0, 10.0, 12.0, 11.0], &[0.0, 2.0, 4.1, 100.0, 104.0, 101.9]).1 > 9.0);
}

#[test]
fn deming_slope_is_symmetric_and_exact_on_a_line() {
    assert!(close(deming_slope(&[0.0, 1.0, 2.0], &[0.0, 2.0, 4.0]), 2.0, 1e-12));
    // Orthogonal regression: swapping the axes inverts the slope (OLS would not).
    let (x, y) = ([0.0, 1.0, 2.0, 3.0], [0.1, 0.9, 2.3, 2.8]);
    assert!(close(deming_slope(&x, &y) * deming_slope(&y, &x), 1.0, 1e-12));
}

#[test]
fn ols_fit_has_its_textbook_standard_error() {
    let x = [0.0, 1.0, 2.0, 3.0];
    let y = [1.0, 3.1, 4.8, 7.1];
    let fit = ols_fit(&x, &y).unwrap();
    // sxx = 5, sxy = 10 => slope 2, intercept 1; residuals 0, 0.1, -0.2, 0.1; sse 0.06 on 2 d.o.f.
    assert!(close(fit.slope, 2.0, 1e-12));
    assert!(close(fit.se, (0.06f64 / 2.0 / 5.0).sqrt(), 1e-9), "{fit:?}");
    assert!(close(fit.hi - fit.slope, 4.302653 * fit.se, 1e-5));
}

#[test]
fn hinge_fit_recovers_a_planted_change_point_and_its_sign() {
    let t: Vec<f64> = (0..10).map(|i| i as f64).collect();
    let bend: Vec<f64> = t.iter().map(|&x| if x < 4.0 { 1.0 } else { 1.0 + 2.0 * (x - 4.0) }).collect();
    let fit = hinge_fit(&t, &bend, 1.0).unwrap();
    assert!(close(fit.tau, 4.0, 1e-9) && close(fit.slope_change, 2.0, 1e-9) && fit.tau_end.is_none(), "{fit:?}");
    // A hump turns at its top with a negative change of slope: found where a fall is predicted.
    let hump: Vec<f64> = t.iter().map(|&x| if x < 6.0 { x } else { 12.0 - x }).collect();
    let fit = hinge_fit(&t, &hump, -1.0).unwrap();
    assert!(close(fit.tau, 6.0, 1e-9) && close(fit.slope_change, -2.0, 1e-9), "{fit:?}");
    // Growth that starts at 3 and saturates at 5 (a ramp): fitted exactly (sup-F infinite), the onset
    // in [3, 4) and the end in (4, 5] (between grid points the data cannot place them); the one-hinge
    // model of the first version found the saturation instead.
    let ramp: Vec<f64> = t.iter().map(|&x| 1.0 + (x - 3.0).clamp(0.0, 2.0)).collect();
    let fit = hinge_fit(&t, &ramp, 1.0).unwrap();
    let end = fit.tau_end.unwrap();
    assert!(fit.sup_f.is_infinite() && (3.0..4.0).contains(&fit.tau) && end > 4.0 && end <= 5.0, "{fit:?}");
    assert!(close(fit.slope_change * (end - fit.tau), 2.0, 1e-9), "the rise is 2: {fit:?}");
    assert!(hinge_fit(&t[..4], &bend[..4], 1.0).is_none(), "4 widths are too few");
}

#[test]
fn onset_test_calibrates_sup_f() {
    // Two seeds per width on 10 widths; deterministic noise.
    let t: Vec<f64> = (0..10).flat_map(|i| [i as f64, i as f64]).collect();
    let noise: Vec<f64> = (0..20).map(|i| ((i * 7919 % 23) as f64 / 23.0 - 0.5) * 0.4).collect();
    let line: Vec<f64> = t.iter().zip(&noise).map(|(x, e)| 0.5 * x + e).collect();
    let bend: Vec<f64> = t.iter().zip(&noise).map(|(x, e)| (x - 5.0).max(0.0) + e).collect();
    let p_line = onset_test(&t, &line, 1.0, 999, 0.05).unwrap().p_value;
    let bent = onset_test(&t, &bend, 1.0, 999, 0.05).unwrap();
    assert!(p_line > 0.05 && bent.p_value < 0.01, "{p_line} {bent:?}");
    // The bend's interval covers it and not the whole grid; the line's (no onset) is the whole grid.
    assert!(bent.fit.tau_lo <= 5.0 && 5.0 <= bent.fit.tau_hi && bent.fit.tau_hi - bent.fit.tau_lo < 4.0, "{bent:?}");
    let fit = onset_test(&t, &line, 1.0, 999, 0.05).unwrap();
    assert_eq!((fit.fit.tau_lo, fit.fit.tau_hi), (1.0, 8.0));
    // Where a fall is predicted, no fall starts at the bend: the best falling fit lies elsewhere.
    let falling = onset_test(&t, &bend, -1.0, 999, 0.05).unwrap();
    assert!(falling.fit.slope_change < 0.0 && !(falling.fit.tau_lo <= 5.0 && 5.0 <= falling.fit.tau_hi), "{falling:?}");
    // The naive F(1, n - 4) p-value of the sup over tau would be smaller than the calibrated one.
    let naive = 1.0 - statrs_free_f_cdf(fit.fit.sup_f, 16.0);
    assert!(naive < fit.p_value, "naive {naive} vs calibrated {}", fit.p_value);
}

/// P(F(1, d) <= f) from the t distribution: F(1, d) = T_d^2.
fn statrs_free_f_cdf(f: f64, d: f64) -> f64 {
    1.0 - t_two_sided(f.sqrt(), d)
}

#[test]
fn peak_test_needs_two_seeds_and_a_real_peak() {
    let widths = [1, 2, 4, 8, 16, 32];
    let clear: Vec<Vec<f64>> = [0.5, 0.2, 0.4, 0.15, 0.1, 0.12].iter().map(|m| vec![m - 0.01, *m, m + 0.01]).collect();
    let test = peak_test(&widths, &clear, 999, 0.05);
    let peak = test.peak.as_ref().unwrap();
    assert_eq!((peak.width, peak.best_left, peak.best_right), (4, 2, 16));
    assert!(close(peak.drop_left, 0.2, 1e-12) && test.detected, "{test:?}");
    let one_seed: Vec<Vec<f64>> = [0.5, 0.2, 0.4, 0.15, 0.1, 0.12].iter().map(|m| vec![*m]).collect();
    let test = peak_test(&widths, &one_seed, 999, 0.05);
    assert!(test.p_value.is_none() && !test.detected);
    let monotone: Vec<Vec<f64>> = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05].iter().map(|m| vec![m - 0.01, *m, m + 0.01]).collect();
    assert!(peak_test(&widths, &monotone, 999, 0.05).peak.is_none());
}

#[test]
fn jackknife_over_seeds_matches_the_hand_computation() {
    // Statistic without each of three seeds: 1, 2, 3. se = sqrt((m - 1)/m * sum (x - 2)^2) = sqrt(4/3).
    let j = Jackknife::of(&[1.0, 2.0, 3.0]).unwrap();
    assert!(close(j.se, (4.0f64 / 3.0).sqrt(), 1e-12) && j.df == 2.0 && j.units == 3, "{j:?}");
    assert!(close(j.half_width(), 4.302653 * j.se, 1e-5));
    assert!(Jackknife::of(&[1.0, 2.0]).is_none(), "two seeds are too few");
    // Leave-one-out variance curves ln v = c - a_s ln W with a_s = 0.9, 1.0, 1.1 for the three seeds
    // left out: the slopes are -0.9, -1, -1.1 and the jackknife se sqrt(2/3 * 0.02).
    let mut without = SeedCurves::default();
    for (s, a) in [(0u64, 0.9), (1, 1.0), (2, 1.1)] {
        for w in [16usize, 32, 64, 128] {
            without.insert(w, Some(s), (2.0 - a * (w as f64).ln()).exp());
        }
    }
    let j = jackknife_log_slope(&without, &[16, 32, 64, 128], |w| (w as f64).ln()).unwrap();
    assert!(close(j.se, (2.0f64 / 3.0 * 0.02).sqrt(), 1e-9), "{j:?}");
    // A seed missing at one width is left out.
    without.0.get_mut(&64).unwrap().remove(&Some(2));
    assert!(jackknife_log_slope(&without, &[16, 32, 64, 128], |w| (w as f64).ln()).is_none());
}

#[test]
fn a_t_tail_of_no_effect_and_no_spread_is_undefined_not_a_panic() {
    // 0 / 0: the fuzz test found H5's jackknife at se 0 with no reduction reaching statrs, which panics.
    assert!(t_upper_tail(f64::NAN, 3.0).is_nan());
    assert_eq!(t_upper_tail(f64::INFINITY, 3.0), 0.0);
}
