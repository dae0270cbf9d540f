//! `ddlab sweep` end to end on a tiny synthetic experiment: every documented file, with its columns.

mod util;

use util::*;

#[test]
fn sweep_writes_every_documented_file_with_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "tiny.toml", TINY);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let name = sweep.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("tiny-") && name.len() == "tiny-".len() + 10, "{name}");
    assert!(stdout(&out).contains("report.html"));

    assert!(sweep.join("spec.toml").exists());
    assert_eq!(csv_header(&sweep.join("data/n60-noise0.2/noise.csv")), ["index", "original", "noisy"]);
    assert_eq!(std::fs::read_to_string(sweep.join("data/n60-noise0.2/noise.csv")).unwrap().lines().count(), 1 + 12);
    for width in [1, 2, 4, 8, 16, 32] {
        for seed in [0, 1] {
            let run = sweep.join(format!("runs/n60-noise0.2/w{width}-s{seed}"));
            for f in ["init.bpk", "model.bpk", "metrics.csv", "run.json", "DONE", "probes.csv", "snapshots/e20.bpk"] {
                assert!(run.join(f).exists(), "{}/{f}", run.display());
            }
            assert!(!run.join("checkpoint.bin").exists(), "checkpoints are dropped once a run is done");
            assert_eq!(
                csv_header(&run.join("metrics.csv")),
                ["epoch", "train_loss", "train_err", "test_loss", "test_err", "seconds"]
            );
            let rows = std::fs::read_to_string(run.join("metrics.csv")).unwrap().lines().count();
            assert_eq!(rows, 1 + 4, "evaluations at epochs 10, 20, 30, 40");
        }
    }
    assert_eq!(
        csv_header(&sweep.join("runs.csv")),
        [
            "condition",
            "n_train",
            "label_noise",
            "width",
            "depth",
            "seed",
            "params",
            "epochs",
            "train_err",
            "train_loss",
            "test_err",
            "test_loss",
            "noisy_fit",
            "seconds",
            "status",
            "reason"
        ]
    );
    let runs = std::fs::read_to_string(sweep.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 12);
    assert!(runs.lines().skip(1).all(|l| l.ends_with(",done,")));
    assert_eq!(
        csv_header(&sweep.join("probes.csv")),
        ["condition", "n_train", "label_noise", "width", "seed", "phase", "epoch", "probe", "metric", "value", "undefined"]
    );
    let probes = std::fs::read_to_string(sweep.join("probes.csv")).unwrap();
    for needle in [
        ",init,0,partition,ambiguity_kl_m2,",
        ",init,0,partition,ambiguity_sq_m2,",
        ",trained,40,competence,n_eff,",
        ",seed_ensemble,variance_kl,",
        ",seed_ensemble,variance_sq_unbiased,",
        ",geometry,cka_seeds,",
        ",geometry,cka_next_width,",
        ",circuits,linear_maps,",
        ",diversity,effective_rank,",
    ] {
        assert!(probes.contains(needle), "probes.csv lacks {needle}");
    }
    let analysis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(analysis["conditions"][0]["condition"], "n60-noise0.2");
    assert!(analysis["conditions"][0]["curves"]["test_err"].as_array().unwrap().len() == 6);
    let md = std::fs::read_to_string(sweep.join("analysis.md")).unwrap();
    assert!(md.contains("| prediction | metric | outcome | reason | numbers |"), "{md}");
    // Undefined values are empty cells with their reason, never NaN.
    assert!(!probes.contains("NaN") && !probes.contains("inf"), "probes.csv holds a NaN");
    assert!(probes.contains(",competence,n_eff,,full network not clearly better than chance"), "{probes}");
    for figure in ["error_curves", "metric-partition-ambiguity_kl_m2", "scatter-competence-n_eff"] {
        for ext in ["svg", "png"] {
            let path = sweep.join(format!("figures/{figure}.{ext}"));
            assert!(std::fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false), "{}", path.display());
        }
    }
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    // The report's verdict rows are analysis.json's verdicts: prediction, metric and outcome, in order.
    let html_escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut from = 0;
    for v in analysis["conditions"][0]["verdicts"].as_array().unwrap() {
        let outcome = v["outcome"].as_str().unwrap().replace('_', " ");
        let metric = v["metric"].as_str().map_or(String::new(), |m| format!(" (<code>{m}</code>)"));
        let row = format!(
            "<div class=\"verdict\"><p><b class=\"o {}\">{outcome}</b> <b>{}</b>{metric}: {}</p>",
            v["outcome"].as_str().unwrap().replace('_', "-"),
            html_escape(v["prediction"].as_str().unwrap()),
            html_escape(v["reason"].as_str().unwrap()),
        );
        let at = html[from..].find(&row).unwrap_or_else(|| panic!("report.html lacks the verdict row {row}"));
        from += at + row.len();
    }
    assert!(
        html.contains("<svg")
            && html.contains("id=\"answer\"")
            && html.contains("id=\"key-figure\"")
            && html.contains("id=\"runs\"")
    );
    // No network resources: nothing loaded from a URL (SVG's xmlns names a URL but loads nothing).
    for attribute in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(attribute), "report.html loads a network resource ({attribute})");
    }
    assert!(files(&sweep).iter().all(|f| !f.contains(".tmp-")), "no temporary files left");

    // A second sweep finds everything done and trains nothing.
    let again = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--no-probe"], dir.path());
    assert!(again.status.success());
    assert!(stdout(&again).contains("(0 trained now"), "{}", stdout(&again));
    // Status lists every run as done.
    let status = run(&["status", sweep.to_str().unwrap()], dir.path());
    assert!(stdout(&status).contains("done: 12"), "{}", stdout(&status));
}

#[test]
fn keys_prints_the_readme_table() {
    let out = run(&["keys"], std::path::Path::new("."));
    assert!(out.status.success());
    assert!(stdout(&out).contains("| `model.widths` |"));
}

/// `conditions.epochs`: each budget is a condition of its own, its runs train for it, and the analysis
/// sees one condition per budget.
#[test]
fn epoch_budgets_are_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"budgets\"\nseeds = [0, 1]\n[data]\ndataset = \"teacher\"\npool = 300\ndim = 5\nclasses = 3\nn_train = 60\nn_test = 40\nlabel_noise = 0.1\n[conditions]\nepochs = [20, 60]\n[model]\nwidths = [2, 8]\n[train]\nloss = \"ce\"\neval_every = 10\n[probe]\nprobe_set = 20\n";
    let file = experiment(dir.path(), "budgets.toml", text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    for (label, epochs) in [("n60-noise0.1-e20", 20), ("n60-noise0.1-e60", 60)] {
        let metrics = std::fs::read_to_string(sweep.join(format!("runs/{label}/w8-s1/metrics.csv"))).unwrap();
        assert_eq!(metrics.lines().count(), 1 + epochs / 10, "{label}");
        assert!(metrics.lines().last().unwrap().starts_with(&format!("{epochs},")), "{label}: {metrics}");
    }
    let runs = std::fs::read_to_string(sweep.join("runs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = runs.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r[0].ends_with(&format!("-e{}", r[7]))), "each run trained for its condition's budget: {runs}");
    let analysis = std::fs::read_to_string(sweep.join("analysis.json")).unwrap();
    assert!(analysis.contains("n60-noise0.1-e20") && analysis.contains("n60-noise0.1-e60"));
}

/// `conditions.data_seed`: each data draw has its own split and label flips, and the analysis splits
/// the test error's variance into initialisation (between seeds of a draw) and data (between draws).
#[test]
fn data_draws_are_conditions_with_their_own_data_and_a_variance_split() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"draws\"\nseeds = [0, 1]\n[data]\ndataset = \"teacher\"\npool = 300\ndim = 5\nclasses = 3\nn_train = 60\nn_test = 40\nlabel_noise = 0.2\n[conditions]\ndata_seed = [1, 2, 3]\n[model]\nwidths = [2, 8]\n[train]\nloss = \"ce\"\nepochs = 20\neval_every = 10\n[probe]\nprobe_set = 20\n";
    let file = experiment(dir.path(), "draws.toml", text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let noise = |d: u64| std::fs::read_to_string(sweep.join(format!("data/n60-noise0.2-d{d}/noise.csv"))).unwrap();
    assert_ne!(noise(1), noise(2), "each draw flips its own labels");
    assert_ne!(noise(2), noise(3));
    let analysis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("analysis.json")).unwrap()).unwrap();
    let replicated = &analysis["replicated"][0];
    assert_eq!(replicated["setting"], "n60-noise0.2");
    assert_eq!(replicated["draws"].as_array().unwrap().len(), 3);
    let split = &replicated["variance"][0];
    assert_eq!((split["draws"].as_u64(), split["seeds"].as_u64()), (Some(3), Some(2)), "{split}");
    assert!(split["init"].as_f64().unwrap() >= 0.0 && split["data"].as_f64().unwrap() >= 0.0);
    let md = std::fs::read_to_string(sweep.join("analysis.md")).unwrap();
    assert!(md.contains("## Data draws"), "analysis.md shows the replicated settings");
    assert!(
        md.contains("**Over data draws.** Counted verdicts over draws:") && md.contains("3 data draws of n60-noise0.2"),
        "the answer leads with the setting's counted verdicts over draws"
    );
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    assert!(html.contains("id=\"d-draws\"") && html.contains("Over data draws."), "report.html shows them too");
}

/// `model.weight_reuse`: each width below the interpolation threshold starts from the trained weights of
/// the next smaller width of the same seed (its init.bpk holds them, unit for unit); the smallest width
/// and every width past the threshold start from a fresh draw.
#[test]
fn weight_reuse_starts_each_width_below_the_threshold_from_the_next_smaller_trained_one() {
    use ddlab_model::{Mlp, MlpShape, MlpWeights};
    let dir = tempfile::tempdir().unwrap();
    // Threshold n K = 60 x 3 = 180 parameters; width w has 7 w + 3 (w + 1) = 10 w + 3: widths 2, 4, 8 lie
    // below it, 32 past it.
    let text = "name = \"reuse\"\nseeds = [0, 1]\n[data]\ndataset = \"teacher\"\npool = 300\ndim = 6\nclasses = 3\nn_train = 60\nn_test = 40\n[model]\nwidths = [2, 4, 8, 32]\nweight_reuse = true\n[train]\nloss = \"mse\"\nlr = 0.01\nepochs = 30\neval_every = 10\n";
    let file = experiment(dir.path(), "reuse.toml", text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--no-probe"], dir.path());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("width step 3"), "three waves: {}", stdout(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let device = burn::tensor::Device::flex();
    let load = |width: usize, seed: u64, file: &str| {
        let shape = MlpShape { input: 6, width, depth: 1, classes: 3 };
        let bytes = std::fs::read(sweep.join(format!("runs/n60-noise0/w{width}-s{seed}/{file}"))).unwrap();
        Mlp::from_bytes(shape, bytes, &device).unwrap().to_weights(shape)
    };
    for seed in [0, 1] {
        for (small, big) in [(2, 4), (4, 8)] {
            let trained = load(small, seed, "model.bpk");
            let start = load(big, seed, "init.bpk");
            assert_eq!(start, trained.grown(start.shape, seed), "w{big}-s{seed} starts from w{small}-s{seed}'s trained weights");
            assert_ne!(trained, load(small, seed, "init.bpk"), "w{small}-s{seed} trained");
        }
        for width in [2, 32] {
            let shape = MlpShape { input: 6, width, depth: 1, classes: 3 };
            let fresh = MlpWeights::init(shape, ddlab_config::Init::KaimingUniform, seed);
            assert_eq!(load(width, seed, "init.bpk"), fresh, "w{width}-s{seed} starts fresh");
        }
    }
}
