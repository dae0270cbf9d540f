//! The known answer (docs/SCIENCE.md, Known answers): minimum-norm least squares on isotropic Gaussian
//! data has a closed-form expected risk with its peak at p = n. A sweep must draw measured risk on the
//! theory, agree with it, and find the peak at p = n; the agreement check itself has its false-alarm
//! rate and power measured here on simulated sweeps of known truth.

mod util;

use ddlab_analysis::{Outcome, linear_expected_risk, theory_agreement};
use ddlab_config::{Init, ModelKind};
use ddlab_data::GaussianLinear;
use ddlab_train::{fit_closed_form, score_values};
use util::*;

const N: usize = 20;
const DIM: usize = 40;
const WIDTHS: [usize; 11] = [2, 6, 10, 14, 16, 20, 24, 26, 30, 34, 40];

#[test]
fn a_closed_form_sweep_agrees_with_the_theory_and_peaks_at_p_equal_n() {
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<String> = (0..100).map(|s| s.to_string()).collect();
    let text = format!(
        "seeds = [{}]\n[data]\ndataset = \"gaussian_linear\"\nn_train = {N}\ndim = {DIM}\npool = 1000\n[model]\nkind = \"linear\"\nwidths = {WIDTHS:?}\n",
        seeds.join(", ")
    );
    let file = experiment(dir.path(), "known.toml", &text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("probes: none"), "{}", stdout(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let analysis: serde_json::Value = serde_json::from_slice(&std::fs::read(sweep.join("analysis.json")).unwrap()).unwrap();
    let condition = &analysis["conditions"][0];
    let theory = &condition["theory"];
    assert_eq!(theory["verdict"]["outcome"], "supported", "{}", theory["verdict"]);
    assert_eq!(theory["tested"], 6, "every width max(4, n / 2) = 10 or more away from n = 20");
    assert_eq!(condition["peak"]["peak"]["width"], N);
    assert_eq!(condition["peak"]["detected"], true, "{}", condition["peak"]);
    assert_eq!(condition["w_interp"], N, "the min-norm fit interpolates from p = n on");
    assert!(analysis["probes_not_applicable"].as_str().unwrap().contains("regression"));
    // runs.csv: p is the width, the fitted parameters are p (one output), no epochs.
    let runs = std::fs::read_to_string(sweep.join("runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row = runs.lines().skip(1).find(|l| l.split(',').nth(column("width")) == Some("14")).unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    let cell = |name: &str| cells[column(name)];
    assert_eq!((cell("width"), cell("params"), cell("epochs"), cell("depth")), ("14", "14", "0", "0"));
    // The error figure draws the theory.
    let svg = std::fs::read_to_string(sweep.join("figures/error_curves.svg")).unwrap();
    assert!(svg.contains("closed-form risk"), "the error figure lacks the theory curve");
    let report = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    assert!(report.contains("Known answer"), "the report lacks the known-answer section");
}

/// One simulated sweep, fitted exactly as the sweep fits it: `seeds` replicates, each with its own
/// training and test sets, at every width of `WIDTHS`. Returns the test risks per width.
fn simulate(generator: GaussianLinear, seeds: std::ops::Range<u64>, data_seed: u64) -> Vec<Vec<f64>> {
    WIDTHS
        .iter()
        .map(|&p| {
            seeds
                .clone()
                .map(|seed| {
                    let train = generator.train_set(N, 0, data_seed, seed);
                    let test = generator.test_set(200, 0, data_seed, seed);
                    let fit = fit_closed_form(
                        ModelKind::Linear,
                        p,
                        0.0,
                        Init::KaimingUniform,
                        seed,
                        &train.x,
                        &train.y,
                        1,
                        &test.x,
                        DIM,
                    )
                    .unwrap();
                    score_values(&fit.test_outputs, &test.y).err
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_agreement_check_rarely_fires_on_the_truth_and_catches_a_wrong_theory() {
    let generator = GaussianLinear { dim: DIM, signal: 1.0, noise_variance: 0.25 };
    let truth: Vec<Option<f64>> = WIDTHS.iter().map(|&p| linear_expected_risk(DIM, 1.0, 0.25, N, p)).collect();
    // A theory 20% off in the noise variance: what a wrong formula or a wrong fit would look like.
    let wrong: Vec<Option<f64>> = WIDTHS.iter().map(|&p| linear_expected_risk(DIM, 1.0, 0.30, N, p)).collect();
    let draws = 200;
    let (mut false_alarms, mut caught) = (0, 0);
    for draw in 0..draws {
        let risks = simulate(generator, 0..100, 1000 + draw);
        let check = theory_agreement(N, &WIDTHS, &risks, &truth, 0.05);
        if std::env::var("DDLAB_SHOW").is_ok() {
            let bad: Vec<String> = check
                .points
                .iter()
                .filter(|p| p.agrees == Some(false))
                .map(|p| format!("{}:{:.1}", p.width, p.t.unwrap()))
                .collect();
            if !bad.is_empty() {
                eprintln!("{}", bad.join(" "));
            }
        }
        false_alarms += usize::from(check.verdict.outcome == Outcome::Contradicted);
        caught += usize::from(theory_agreement(N, &WIDTHS, &risks, &wrong, 0.05).verdict.outcome == Outcome::Contradicted);
    }
    let (rate, power) = (false_alarms as f64 / draws as f64, caught as f64 / draws as f64);
    println!("agreement check, 100 seeds, n = {N}: false-alarm rate {rate:.3}, power against a 20% noise error {power:.3}");
    // The family is tested at 5%; with 200 draws the rate's standard error is 1.5 points. Measured: 100
    // seeds keep it near the level; 30 seeds gave 9.5% (power 0.74), which is why the shipped
    // known-answer experiment uses 100.
    assert!(rate <= 0.09, "false-alarm rate {rate}");
    assert!(power >= 0.8, "power {power}");
}
