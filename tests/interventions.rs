//! Interventions end to end (docs/SCIENCE.md, Models, data and training: interventions): conditions
//! crossing output scales and centring train, and every reader of a model's function (the probes)
//! computes the function training measured: the probes' full-network figures equal runs.csv's test
//! figures on the same inputs, and a centred network at initialisation is exactly 0. Parameterisations
//! (docs/SCIENCE.md, parameterisations) write effective weights, which the probes read as any run's, and
//! at the base width train as the standard network.

mod util;

use std::collections::BTreeMap;

use util::*;

const INTERVENED: &str = r#"
name = "iv"
seeds = [0, 1]
[data]
dataset = "teacher"
pool = 300
dim = 6
classes = 3
n_train = 60
n_test = 60
[model]
widths = [4, 16]
[train]
loss = "mse"
lr = 0.01
epochs = 30
eval_every = 10
[conditions]
centred = [false, true]
output_scale = [1.0, 4.0]
[probe]
probe_set = 60
draws = 2
"#;

fn rows(path: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect()
}

#[test]
fn the_probes_measure_the_function_training_measured() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "iv.toml", INTERVENED);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let runs = rows(&sweep.join("runs.csv"));
    let conditions: std::collections::BTreeSet<&str> = runs.iter().map(|r| r["condition"].as_str()).collect();
    assert_eq!(
        conditions.into_iter().collect::<Vec<_>>(),
        ["n60-noise0", "n60-noise0-a4", "n60-noise0-centred", "n60-noise0-centred-a4"]
    );
    let test_figures: BTreeMap<(String, String, String), (f64, f64)> = runs
        .iter()
        .map(|r| {
            let key = (r["condition"].clone(), r["width"].clone(), r["seed"].clone());
            (key, (r["test_err"].parse().unwrap(), r["test_loss"].parse().unwrap()))
        })
        .collect();
    let probes = rows(&sweep.join("probes.csv"));
    let mut compared = 0;
    for row in probes.iter().filter(|r| r["probe"] == "partition" && !r["seed"].is_empty()) {
        let key = (row["condition"].clone(), row["width"].clone(), row["seed"].clone());
        let value: f64 = row["value"].parse().unwrap();
        match (row["phase"].as_str(), row["metric"].as_str()) {
            // The probe set is the whole test set: the same inputs as runs.csv's test figures.
            ("trained", "full_err") => {
                assert_eq!(value, test_figures[&key].0, "{key:?}");
                compared += 1;
            }
            ("trained", "full_loss_sq") => {
                assert!(
                    (value - test_figures[&key].1).abs() <= 1e-5 * value.max(1.0),
                    "{key:?}: {value} vs {:?}",
                    test_figures[&key]
                );
                compared += 1;
            }
            // A centred network is exactly 0 at initialisation: ||0 - e_y||^2 = 1 on every input.
            ("init", "full_loss_sq") if key.0.contains("centred") => {
                assert_eq!(value, 1.0, "{key:?}");
                compared += 1;
            }
            ("init", "full_loss_sq") => assert_ne!(value, 1.0, "{key:?}"),
            _ => {}
        }
    }
    assert_eq!(compared, 16 * 2 + 8, "every run's trained figures and every centred run's initial loss");
}

const PARAMETERISED: &str = r#"
name = "pz"
seeds = [0, 1]
[data]
dataset = "teacher"
pool = 300
dim = 6
classes = 3
n_train = 60
n_test = 60
[model]
widths = [4, 16]
base_width = 4
[train]
loss = "mse"
optimizer = "sgd"
lr = 0.05
epochs = 20
eval_every = 10
[conditions]
parameterisation = ["standard", "ntk", "mean_field"]
[probe]
probe_set = 60
draws = 2
"#;

#[test]
fn parameterised_runs_are_probed_as_trained_and_equal_standard_at_the_base_width() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "pz.toml", PARAMETERISED);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let runs = rows(&sweep.join("runs.csv"));
    let figures: BTreeMap<(String, String, String), (String, String)> = runs
        .iter()
        .map(|r| {
            ((r["condition"].clone(), r["width"].clone(), r["seed"].clone()), (r["test_loss"].clone(), r["train_loss"].clone()))
        })
        .collect();
    let conditions: std::collections::BTreeSet<&str> = figures.keys().map(|k| k.0.as_str()).collect();
    assert_eq!(conditions.into_iter().collect::<Vec<_>>(), ["n60-noise0", "n60-noise0-mf", "n60-noise0-ntk"]);
    for seed in ["0", "1"] {
        let at = |c: &str, w: &str| figures[&(c.to_string(), w.to_string(), seed.to_string())].clone();
        for c in ["n60-noise0-ntk", "n60-noise0-mf"] {
            assert_eq!(at(c, "4"), at("n60-noise0", "4"), "{c} at the base width");
            assert_ne!(at(c, "16"), at("n60-noise0", "16"), "{c} away from it");
        }
    }
    let probes = rows(&sweep.join("probes.csv"));
    let mut compared = 0;
    for row in probes.iter().filter(|r| r["probe"] == "partition" && r["phase"] == "trained" && r["metric"] == "full_loss_sq") {
        let key = (row["condition"].clone(), row["width"].clone(), row["seed"].clone());
        let value: f64 = row["value"].parse().unwrap();
        let trained: f64 = figures[&key].0.parse().unwrap();
        assert!((value - trained).abs() <= 1e-5 * value.max(1.0), "{key:?}: {value} vs {trained}");
        compared += 1;
    }
    assert_eq!(compared, 12, "every run's trained loss");
}

/// A sweep crossing interventions with data draws decides between the accounts: analysis.json holds the
/// decision over the draws, and analysis.md says which account first, in its answer.
#[test]
fn a_sweep_with_interventions_and_draws_reports_the_decision_first() {
    let dir = tempfile::tempdir().unwrap();
    let text = INTERVENED.replace("output_scale = [1.0, 4.0]\n", "output_scale = [1.0, 4.0]\ndata_seed = [1, 2, 3]\n");
    let file = experiment(dir.path(), "dec.toml", &text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let analysis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("analysis.json")).unwrap()).unwrap();
    let decision = &analysis["decision"];
    assert!(decision.is_object(), "no decision in analysis.json");
    assert_eq!(decision["unit"], "draws");
    let favoured = decision["favoured"].as_str().unwrap();
    assert!(["internal_ensemble", "variance_decay", "inconclusive", "not_testable"].contains(&favoured));
    let md = std::fs::read_to_string(sweep.join("analysis.md")).unwrap();
    let answer = md.split("## Answer\n\n").nth(1).unwrap();
    assert!(answer.starts_with("**Which account**"), "{}", &answer[..200.min(answer.len())]);
    assert!(md.contains("## Deciding between the accounts"));
    // Without interventions there is no decision.
    let plain = sweep_folder_of(
        dir.path(),
        "plain.toml",
        &INTERVENED.replace("centred = [false, true]\noutput_scale = [1.0, 4.0]\n", ""),
    );
    let analysis = std::fs::read_to_string(plain.join("analysis.json")).unwrap();
    assert!(!analysis.contains("\"decision\""));
}

fn sweep_folder_of(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let file = experiment(dir, name, text);
    let runs = dir.join(name.replace(".toml", "-runs"));
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--quiet"], dir);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    sweep_folder(&runs)
}
