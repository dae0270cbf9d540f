//! `ddlab study` end to end (docs/SCIENCE.md, Statistics, "Studies: several sweeps as one"): a study of
//! three experiments trains each as its own sweep, then writes the study folder (study.json, study.md with
//! the answer first and links to each sweep's report, forest plots); a second run resumes and writes the
//! same study; a second study naming one of its sweeps is refused and leaves nothing behind.

mod util;

use std::path::{Path, PathBuf};

use util::*;

/// A small digits experiment crossing four interventions (centring x output scale) with three data
/// draws, with widths enough past the threshold for the decision's fits; `n_train` tells the
/// experiments apart.
fn intervened(name: &str, n_train: usize) -> String {
    format!(
        r#"
name = "{name}"
seeds = [0, 1]
[data]
dataset = "digits"
n_train = {n_train}
n_test = 200
[model]
widths = [1, 2, 4, 8, 16, 24, 32, 48, 64]
[train]
loss = "mse"
optimizer = "adam"
lr = 0.01
epochs = 300
eval_every = 100
[conditions]
centred = [false, true]
output_scale = [1.0, 4.0]
data_seed = [1, 2, 3]
[probe]
probe_set = 200
draws = 2
"#
    )
}

fn study_folders(runs: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("study-"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_study_runs_its_sweeps_and_writes_the_answer_with_links_and_forests() {
    let dir = tempfile::tempdir().unwrap();
    for (file, n) in [("a.toml", 80), ("b.toml", 100), ("c.toml", 120)] {
        experiment(dir.path(), file, &intervened(file.trim_end_matches(".toml"), n));
    }
    let study = experiment(dir.path(), "study.toml", "name = \"three\"\nexperiments = [\"a.toml\", \"b.toml\", \"c.toml\"]\n");
    let out = run(&["study", study.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let runs = dir.path().join("runs");
    let folders = study_folders(&runs);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let folder = &folders[0];
    assert!(folder.file_name().unwrap().to_string_lossy().starts_with("study-three-"));

    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(folder.join("study.json")).unwrap()).unwrap();
    let sweeps = json["sweeps"].as_array().unwrap();
    assert_eq!(sweeps.len(), 3);
    // Each sweep is a sweep folder of its own, analysed and reported.
    for s in sweeps {
        let name = s["name"].as_str().unwrap();
        assert!(runs.join(name).join("analysis.json").is_file(), "{name} has no analysis");
    }
    // The decision pools every sweep's replicates; its unit is a sweep's setting (each sweep has one).
    let decision = &json["decision"];
    assert!(decision.is_object(), "no decision in study.json");
    assert_eq!(decision["unit"], "settings");
    assert_eq!(decision["units"], 3, "{decision}");
    assert!(decision["seed_variance"].is_object(), "the decision was not fitted: {}", decision["reason"]);
    let replicates = decision["replicates"].as_array().unwrap();
    let sweeps_in_decision: std::collections::BTreeSet<String> =
        replicates.iter().map(|r| r["setting"].as_str().unwrap().split('/').next().unwrap().to_string()).collect();
    assert_eq!(sweeps_in_decision.len(), 3, "{sweeps_in_decision:?}");
    // The effects' units are the same settings: a sweep's four interventions share their draws, so they
    // are one setting, not four (docs/SCIENCE.md, "Studies: several sweeps as one").
    let kw = "H5 one net of width kW minus k nets of width W";
    let effect = json["effects"].as_array().unwrap().iter().find(|e| e["name"] == kw).expect("H5's kW effect");
    let units: Vec<&str> = effect["settings"].as_array().unwrap().iter().map(|s| s["setting"].as_str().unwrap()).collect();
    assert_eq!(units.len(), 3, "one unit per sweep: {units:?}");
    for (unit, n) in units.iter().zip(["n80-noise0", "n100-noise0", "n120-noise0"]) {
        assert!(unit.ends_with(&format!("/{n}")), "{units:?}");
    }
    // With every draw complete, a setting's mean is the mean of its interventions' means.
    let interventions = effect["interventions"].as_array().expect("each intervention beside its setting");
    assert_eq!(interventions.len(), 12, "{interventions:?}");
    for unit in effect["settings"].as_array().unwrap() {
        let name = unit["setting"].as_str().unwrap();
        let own: Vec<f64> = interventions
            .iter()
            .filter(|i| i["setting"].as_str().unwrap().starts_with(name))
            .map(|i| i["mean"].as_f64().unwrap())
            .collect();
        assert_eq!(own.len(), 4, "{name}");
        let mean = own.iter().sum::<f64>() / 4.0;
        assert!((unit["mean"].as_f64().unwrap() - mean).abs() < 1e-12, "{name}: {unit} vs {mean}");
    }

    let md = std::fs::read_to_string(folder.join("study.md")).unwrap();
    let answer = md.split("## Answer\n\n").nth(1).expect("study.md has an answer");
    assert!(answer.starts_with("**Which account**"), "{}", &answer[..200.min(answer.len())]);
    // Every link to a sweep's report resolves from the study folder.
    let links: Vec<&str> =
        md.split("](").skip(1).map(|s| s.split(')').next().unwrap()).filter(|l| l.starts_with("../")).collect();
    assert_eq!(links.len(), 6, "two links per sweep: {links:?}");
    for link in links {
        assert!(folder.join(link).is_file(), "study.md links {link}, which does not exist");
    }
    // Forest plots, each linked from study.md.
    let figures: Vec<String> = std::fs::read_dir(folder.join("figures"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert!(!figures.is_empty());
    for f in &figures {
        assert!(md.contains(&format!("figures/{f}")), "study.md does not show {f}");
        assert!(folder.join("figures").join(f.replace(".svg", ".png")).is_file());
    }

    // Again: every sweep resumes (nothing trains), and the study is written the same.
    let again = run(&["study", study.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(again.status.success(), "{}\n{}", stdout(&again), stderr(&again));
    assert_eq!(std::fs::read_to_string(folder.join("study.md")).unwrap(), md);

    // A second study naming one of these experiments is refused before anything is written.
    let other = experiment(dir.path(), "other.toml", "name = \"other\"\nexperiments = [\"b.toml\"]\n");
    let out = run(&["study", other.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("two studies may not share a sweep"), "{}", stderr(&out));
    assert!(stderr(&out).contains("other.toml"), "the error names the study file: {}", stderr(&out));
    assert_eq!(study_folders(&runs), folders, "the refused study left a folder");

    // The study file edited (an experiment dropped) is the same study: it keeps its sweeps (nothing
    // retrains) and gets a folder of its own.
    experiment(dir.path(), "study.toml", "name = \"three\"\nexperiments = [\"a.toml\", \"b.toml\"]\n");
    let edited = run(&["study", study.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(edited.status.success(), "{}\n{}", stdout(&edited), stderr(&edited));
    assert_eq!(study_folders(&runs).len(), 2);
}

#[test]
fn a_study_without_probes_trains_and_says_the_study_waits() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), "a.toml", &intervened("a", 80));
    let study = experiment(dir.path(), "study.toml", "name = \"one\"\nexperiments = [\"a.toml\"]\n");
    let out = run(&["study", study.to_str().unwrap(), "--runs-dir", "runs", "--no-probe", "--quiet"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("not every sweep is analysed yet"), "{}", stdout(&out));
    let folders = study_folders(&dir.path().join("runs"));
    assert_eq!(folders.len(), 1);
    assert!(folders[0].join("study.toml").is_file());
    assert!(!folders[0].join("study.json").exists(), "a study of unanalysed sweeps was written");
}

/// Every shipped experiment and study file loads: a typo in one fails here, not an hour into a sweep.
#[test]
fn every_shipped_experiment_and_study_file_loads() {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments"), &mut files);
    let mut studies = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let is_study = text.parse::<toml::Table>().unwrap().contains_key("experiments");
        if is_study {
            let study = ddlab_config::load_study(file).unwrap_or_else(|e| panic!("{e}"));
            assert!(study.experiments.len() >= 2, "{}", file.display());
            studies += 1;
        } else {
            ddlab_config::load_spec(file).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert!(studies >= 1, "no shipped study under experiments/");
}
