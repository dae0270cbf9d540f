//! The bad-input table of README.md, one case per row: every case exits non-zero with a message that
//! names the file, field or line, and never panics. A test also checks that README lists exactly these
//! cases with these messages.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::*;

const VALID: &str = "[data]\ndataset = \"teacher\"\npool = 200\ndim = 4\nclasses = 3\nn_train = 40\n[model]\nwidths = [2, 4]\n[train]\nepochs = 3\n";

/// A valid closed-form regression experiment.
const GAUSSIAN_LINEAR: &str =
    "[data]\ndataset = \"gaussian_linear\"\ndim = 6\npool = 50\nn_train = 10\n[model]\nkind = \"linear\"\nwidths = [2, 4]\n";

/// A valid experiment with `extra` appended (later keys of a table must not repeat earlier ones).
fn with(extra: &str) -> String {
    format!("seeds = [0]\n{VALID}{extra}")
}

/// A file-dataset experiment over `train` (and `test`), in `dir`.
fn file_experiment(dir: &Path, format: &str, train: &str, labels: Option<&str>, test: Option<&str>) -> String {
    let mut text = format!("seeds = [0]\n[data]\ndataset = \"file\"\nformat = \"{format}\"\ntrain = \"{train}\"\nn_train = 2\n");
    if let Some(l) = labels {
        text.push_str(&format!("train_labels = \"{l}\"\n"));
    }
    if let Some(t) = test {
        text.push_str(&format!("test = \"{t}\"\n"));
    }
    text.push_str("[model]\nwidths = [2]\n[train]\nepochs = 1\n");
    let _ = dir;
    text
}

fn idx(type_code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    dims.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out.extend_from_slice(body);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (11 + header.len()) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A tmpfs mounted at `path` for the test's life (needs root; disk-full and read-only cases use it).
struct Mount(PathBuf);

impl Mount {
    fn new(path: &Path, options: &str) -> Result<Self, String> {
        std::fs::create_dir_all(path).unwrap();
        let out =
            Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(path).output().map_err(|e| e.to_string())?;
        if out.status.success() { Ok(Mount(path.to_path_buf())) } else { Err(String::from_utf8_lossy(&out.stderr).to_string()) }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// One row of the table: the case's id, its setup (returns the ddlab arguments), and the excerpt the
/// message must contain.
struct Case {
    id: &'static str,
    expect: &'static str,
    setup: fn(&Path) -> Vec<String>,
}

/// `ddlab study` on a study file listing `experiments` (each written as a valid experiment unless it
/// is `nope.toml`), trained without probes.
fn study_args(dir: &Path, experiments: &[&str]) -> Vec<String> {
    for name in experiments.iter().filter(|n| **n != "nope.toml") {
        experiment(dir, name.trim_start_matches("./"), &with(""));
    }
    study_file_args(dir, experiments)
}

/// `ddlab study` on a study file listing `experiments` as they are in `dir`, trained without probes.
fn study_file_args(dir: &Path, experiments: &[&str]) -> Vec<String> {
    let list: Vec<String> = experiments.iter().map(|e| format!("\"{e}\"")).collect();
    let study = experiment(dir, "study.toml", &format!("name = \"s\"\nexperiments = [{}]\n", list.join(", ")));
    vec![
        "study".into(),
        study.display().to_string(),
        "--runs-dir".into(),
        dir.join("runs").display().to_string(),
        "--no-probe".into(),
    ]
}

fn sweep_args(dir: &Path, text: &str) -> Vec<String> {
    let file = experiment(dir, "exp.toml", text);
    vec![
        "sweep".into(),
        file.display().to_string(),
        "--runs-dir".into(),
        dir.join("runs").display().to_string(),
        "--no-probe".into(),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn cases() -> Vec<Case> {
    vec![
        Case { id: "syntax-error", expect: "exp.toml:2:", setup: |d| sweep_args(d, "seeds = [0]\n[data\n") },
        Case { id: "unknown-key", expect: "unknown field `widht`", setup: |d| sweep_args(d, &with("[probe]\nwidht = 3\n")) },
        Case {
            id: "wrong-type",
            expect: "epochs = \"many\"",
            setup: |d| sweep_args(d, &VALID.replace("epochs = 3", "epochs = \"many\"")),
        },
        Case {
            id: "width-zero",
            expect: "model.widths every width must be >= 1",
            setup: |d| sweep_args(d, &VALID.replace("[2, 4]", "[0, 4]")),
        },
        Case { id: "negative-lr", expect: "exp.toml:12: train.lr must be > 0", setup: |d| sweep_args(d, &with("lr = -0.1\n")) },
        Case {
            id: "noise-one",
            expect: "data.label_noise must be in [0, 1)",
            setup: |d| sweep_args(d, &VALID.replace("n_train = 40", "n_train = 40\nlabel_noise = 1.0")),
        },
        Case {
            id: "n-train-too-large",
            expect: "data.n_train = 5000 but the training pool has only",
            setup: |d| sweep_args(d, &VALID.replace("n_train = 40", "n_train = 5000")),
        },
        Case { id: "empty-widths", expect: "model.widths is empty", setup: |d| sweep_args(d, &VALID.replace("[2, 4]", "[]")) },
        Case { id: "no-dataset", expect: "data.dataset is missing", setup: |d| sweep_args(d, "[data]\nn_train = 3\n") },
        Case {
            id: "unknown-dataset",
            expect: "unknown dataset `cifar`",
            setup: |d| sweep_args(d, &VALID.replace("\"teacher\"", "\"cifar\"")),
        },
        Case { id: "batch-zero", expect: "train.batch_size must be >= 1", setup: |d| sweep_args(d, &with("batch_size = 0\n")) },
        Case {
            id: "repeated-seed",
            expect: "exp.toml:1: seeds has a repeated seed",
            setup: |d| sweep_args(d, &format!("seeds = [1, 1]\n{VALID}")),
        },
        Case {
            id: "zero-epochs",
            expect: "train.epochs must be >= 1",
            setup: |d| sweep_args(d, &VALID.replace("epochs = 3", "epochs = 0")),
        },
        Case {
            id: "missing-experiment",
            expect: "nothere.toml: cannot read experiment file",
            setup: |d| vec!["sweep".into(), d.join("nothere.toml").display().to_string()],
        },
        Case {
            id: "momentum-with-adam",
            expect: "train.momentum applies to sgd only",
            setup: |d| sweep_args(d, &with("momentum = 0.5\n")),
        },
        Case {
            id: "q-out-of-range",
            expect: "probe.q_grid every q must be in (0, 1)",
            setup: |d| sweep_args(d, &with("[probe]\nq_grid = [0.5, 1.5]\n")),
        },
        Case {
            id: "missing-data-file",
            expect: "nope.csv: cannot read",
            setup: |d| sweep_args(d, &file_experiment(d, "csv", "nope.csv", None, None)),
        },
        Case {
            id: "truncated-gzip",
            expect: "x.gz: corrupt or truncated gzip stream",
            setup: |d| {
                let full = gz(&idx(0x08, &[4, 2, 2], &[1; 16]));
                write(d, "x.gz", &full[..full.len() - 8]);
                write(d, "y.idx", &idx(0x08, &[4], &[0, 1, 0, 1]));
                sweep_args(d, &file_experiment(d, "idx", "x.gz", Some("y.idx"), None))
            },
        },
        Case {
            id: "wrong-idx-magic",
            expect: "x.idx: not an IDX file",
            setup: |d| {
                write(d, "x.idx", b"PK\x03\x04 not idx at all");
                write(d, "y.idx", &idx(0x08, &[1], &[0]));
                sweep_args(d, &file_experiment(d, "idx", "x.idx", Some("y.idx"), None))
            },
        },
        Case {
            id: "idx-labels-not-1d",
            expect: "y.idx: label file has 2 dimensions; expected idx1",
            setup: |d| {
                write(d, "x.idx", &idx(0x08, &[2, 1, 1], &[1, 2]));
                write(d, "y.idx", &idx(0x08, &[2, 1], &[0, 1]));
                sweep_args(d, &file_experiment(d, "idx", "x.idx", Some("y.idx"), None))
            },
        },
        Case {
            id: "label-out-of-range",
            expect: "big.csv: label 20000 is out of range",
            setup: |d| {
                write(d, "big.csv", b"label,a\n0,1\n20000,2\n1,3\n");
                sweep_args(d, &file_experiment(d, "csv", "big.csv", None, None))
            },
        },
        Case {
            id: "ragged-csv",
            expect: "rag.csv: line 3: has 2 fields; the header has 3",
            setup: |d| {
                write(d, "rag.csv", b"label,a,b\n0,1,2\n1,3\n");
                sweep_args(d, &file_experiment(d, "csv", "rag.csv", None, None))
            },
        },
        Case {
            id: "nan-feature",
            expect: "nan.csv: line 2: column `a` is NaN",
            setup: |d| {
                write(d, "nan.csv", b"label,a\n0,NaN\n1,3\n");
                sweep_args(d, &file_experiment(d, "csv", "nan.csv", None, None))
            },
        },
        Case {
            id: "npy-dtype",
            expect: "x.npy: unsupported feature dtype '<f2'",
            setup: |d| {
                write(d, "x.npy", &npy("<f2", "(2, 1)", &[0; 4]));
                write(d, "y.npy", &npy("<i8", "(2,)", &[0; 16]));
                sweep_args(d, &file_experiment(d, "npy", "x.npy", Some("y.npy"), None))
            },
        },
        Case {
            id: "npy-count-mismatch",
            expect: "y.npy: 1 labels for 2 examples",
            setup: |d| {
                write(d, "x.npy", &npy("<f4", "(2, 1)", &[0; 8]));
                write(d, "y.npy", &npy("<i8", "(1,)", &[0; 8]));
                sweep_args(d, &file_experiment(d, "npy", "x.npy", Some("y.npy"), None))
            },
        },
        Case {
            id: "one-class",
            expect: "the dataset has 1 class(es); classification needs at least 2",
            setup: |d| {
                write(d, "one.csv", b"label,a\n0,1\n0,2\n0,3\n");
                sweep_args(d, &file_experiment(d, "csv", "one.csv", None, None))
            },
        },
        Case {
            id: "test-dim-mismatch",
            expect: "test.csv: test examples have 1 features, training examples 2",
            setup: |d| {
                write(d, "train.csv", b"label,a,b\n0,1,2\n1,3,4\n");
                write(d, "test.csv", b"label,a\n0,1\n1,3\n");
                sweep_args(d, &file_experiment(d, "csv", "train.csv", None, Some("test.csv")))
            },
        },
        Case {
            id: "runs-dir-is-a-file",
            expect: "runs/exp-1928c2f10f: Not a directory",
            setup: |d| {
                write(d, "runs", b"a file where the runs folder should be");
                sweep_args(d, VALID)
            },
        },
        Case {
            id: "not-a-sweep-folder",
            expect: "spec.toml: not a sweep folder",
            setup: |d| vec!["analyze".into(), d.display().to_string()],
        },
        Case {
            id: "damaged-run-record",
            expect: "w4-s0/run.json: unreadable",
            setup: |d| {
                // A finished sweep whose run record was cut short afterwards: probing must say so, not
                // leave the run out as unfinished.
                let file = experiment(d, "exp.toml", &with(""));
                let runs = d.join("runs");
                let out =
                    run(&["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--no-probe", "--quiet"], d);
                assert!(out.status.success(), "{}", stderr(&out));
                let sweep = sweep_folder(&runs);
                let record = files(&sweep).into_iter().find(|f| f.ends_with("w4-s0/run.json")).expect("a finished run");
                let path = sweep.join(record);
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, &text[..text.len() / 2]).unwrap();
                vec!["probe".into(), sweep.display().to_string()]
            },
        },
        Case {
            id: "unknown-backend",
            expect: "invalid value 'cuda' for '--backend",
            setup: |d| {
                let mut a = sweep_args(d, VALID);
                a.extend(["--backend".into(), "cuda".into()]);
                a
            },
        },
        Case {
            id: "n-train-twice",
            expect: "conditions.n_train and data.n_train are both set",
            setup: |d| sweep_args(d, &with("[conditions]\nn_train = [20, 40]\n")),
        },
        Case {
            id: "data-seed-twice",
            expect: "conditions.data_seed and data_seed are both set",
            setup: |d| sweep_args(d, &format!("data_seed = 3\n{}", with("[conditions]\ndata_seed = [1, 2]\n"))),
        },
        Case {
            id: "probe-set-too-small",
            expect: "probe.probe_set must be >= 4",
            setup: |d| sweep_args(d, &with("[probe]\nprobe_set = 3\n")),
        },
        Case {
            id: "test-set-too-small",
            expect: "the test set has 2 example(s) but the probes need at least 4",
            setup: |d| {
                write(d, "tiny.csv", b"label,a\n0,1.0\n1,2.0\n0,3.0\n1,4.0\n0,5.0\n1,6.0\n");
                sweep_args(d, &file_experiment(d, "csv", "tiny.csv", None, None))
            },
        },
        Case {
            id: "model-kind-unknown",
            expect: "model.kind unknown model kind `kernel`: expected mlp, linear or random_features",
            setup: |d| sweep_args(d, &VALID.replace("[model]\n", "[model]\nkind = \"kernel\"\n")),
        },
        Case {
            id: "ridge-negative",
            expect: "model.ridge must be >= 0, got -1",
            setup: |d| {
                sweep_args(
                    d,
                    &VALID
                        .replace("[model]\n", "[model]\nkind = \"linear\"\nridge = -1.0\n")
                        .replace("[train]\nepochs = 3\n", ""),
                )
            },
        },
        Case {
            id: "random-features-p-zero",
            expect: "model.widths every width must be >= 1, got 0",
            setup: |d| {
                sweep_args(
                    d,
                    &VALID
                        .replace("[model]\n", "[model]\nkind = \"random_features\"\n")
                        .replace("[2, 4]", "[0, 4]")
                        .replace("[train]\nepochs = 3\n", ""),
                )
            },
        },
        Case {
            id: "weight-reuse-closed-form",
            expect: "model.weight_reuse does not apply to model.kind = \"linear\" (fitted in closed form, not trained)",
            setup: |d| {
                sweep_args(
                    d,
                    &VALID
                        .replace("[model]\n", "[model]\nkind = \"linear\"\nweight_reuse = true\n")
                        .replace("[train]\nepochs = 3\n", ""),
                )
            },
        },
        Case {
            id: "output-scale-zero",
            expect: "model.output_scale must be finite and > 0, got 0",
            setup: |d| sweep_args(d, &VALID.replace("[model]\n", "[model]\noutput_scale = 0.0\n")),
        },
        Case {
            id: "output-scale-nan",
            expect: "model.output_scale must be finite and > 0, got NaN",
            setup: |d| sweep_args(d, &VALID.replace("[model]\n", "[model]\noutput_scale = nan\n")),
        },
        Case {
            id: "output-scale-negative",
            expect: "conditions.output_scale must be finite and > 0, got -2",
            setup: |d| sweep_args(d, &with("[conditions]\noutput_scale = [1.0, -2.0]\n")),
        },
        Case {
            id: "intervention-closed-form",
            expect: "model.centred does not apply to model.kind = \"linear\" (fitted in closed form: no initial function to scale or centre)",
            setup: |d| {
                sweep_args(
                    d,
                    &VALID
                        .replace("[model]\n", "[model]\nkind = \"linear\"\ncentred = true\n")
                        .replace("[train]\nepochs = 3\n", ""),
                )
            },
        },
        Case {
            id: "intervention-weight-reuse",
            expect: "conditions.centred does not combine with model.weight_reuse",
            setup: |d| {
                sweep_args(
                    d,
                    &with("[conditions]\ncentred = [false, true]\n").replace("[model]\n", "[model]\nweight_reuse = true\n"),
                )
            },
        },
        Case {
            id: "parameterisation-unknown",
            expect: "conditions.parameterisation unknown parameterisation `mup`: expected standard, ntk or mean_field",
            setup: |d| sweep_args(d, &with("[conditions]\nparameterisation = [\"standard\", \"mup\"]\n")),
        },
        Case {
            id: "parameterisation-no-base-width",
            expect: "model.parameterisation `mean_field` needs model.base_width",
            setup: |d| sweep_args(d, &VALID.replace("[model]\n", "[model]\nparameterisation = \"mean_field\"\n")),
        },
        Case {
            id: "study-missing-experiment",
            expect: "experiments names `nope.toml`, which cannot be read",
            setup: |d| study_args(d, &["a.toml", "nope.toml"]),
        },
        Case {
            id: "study-duplicate-experiment",
            expect: "experiments names `./a.toml` twice (as `a.toml` before)",
            setup: |d| study_args(d, &["a.toml", "./a.toml"]),
        },
        Case {
            id: "study-same-sweep",
            expect: "experiments `a.toml` and `b.toml` resolve to the same sweep",
            setup: |d| {
                // Two files, one experiment: the same name and settings make the same sweep.
                for file in ["a.toml", "b.toml"] {
                    experiment(d, file, &format!("name = \"a\"\n{}", with("")));
                }
                study_file_args(d, &["a.toml", "b.toml"])
            },
        },
        Case {
            id: "study-shared-sweep",
            expect: "which study study-first-",
            setup: |d| {
                // A first study claims a.toml's sweep; a second one names the same experiment.
                let args = study_args(d, &["a.toml"]);
                let first = experiment(d, "first.toml", "name = \"first\"\nexperiments = [\"a.toml\"]\n");
                let out = ddlab()
                    .args(["study", first.to_str().unwrap(), "--runs-dir"])
                    .arg(d.join("runs"))
                    .arg("--no-probe")
                    .output()
                    .unwrap();
                assert!(out.status.success(), "the first study: {}", stderr(&out));
                args
            },
        },
        Case {
            id: "weight-reuse-shard",
            expect: "model.weight_reuse trains the widths below the threshold one after another, each from the previous one's weights, so the sweep cannot be split into shards (shard 1/2)",
            setup: |d| {
                let mut args = sweep_args(d, &VALID.replace("[model]\n", "[model]\nweight_reuse = true\n"));
                args.extend(["--shard".to_string(), "1/2".to_string()]);
                args
            },
        },
        Case {
            id: "regression-with-classification-probe",
            expect: "probe.q_grid configures a probe defined for classification",
            setup: |d| sweep_args(d, &format!("{GAUSSIAN_LINEAR}[probe]\nq_grid = [0.5]\n")),
        },
        Case {
            id: "regression-with-label-noise",
            expect: "data.label_noise does not apply to gaussian_linear",
            setup: |d| sweep_args(d, &GAUSSIAN_LINEAR.replace("n_train = 10\n", "n_train = 10\nlabel_noise = 0.1\n")),
        },
        Case {
            id: "regression-with-mlp",
            expect: "model.kind must be \"linear\" or \"random_features\" with dataset = \"gaussian_linear\"",
            setup: |d| sweep_args(d, &GAUSSIAN_LINEAR.replace("kind = \"linear\"\n", "")),
        },
        Case {
            id: "closed-form-with-epochs",
            expect: "train.epochs does not apply to model.kind = \"linear\" (fitted in closed form, no training loop)",
            setup: |d| sweep_args(d, &format!("{GAUSSIAN_LINEAR}[train]\nepochs = 10\n")),
        },
        Case {
            id: "linear-wider-than-inputs",
            expect: "model.widths: p = 8 exceeds the 4 input features",
            setup: |d| {
                sweep_args(
                    d,
                    &VALID
                        .replace("[model]\n", "[model]\nkind = \"linear\"\n")
                        .replace("[2, 4]", "[2, 8]")
                        .replace("[train]\nepochs = 3\n", ""),
                )
            },
        },
        Case {
            id: "too-wide-for-memory",
            expect: "model.widths: training needs at least",
            setup: |d| sweep_args(d, &VALID.replace("[2, 4]", "[1000000000]")),
        },
        Case {
            id: "shard-zero",
            expect: "`0/3`: I must be between 1 and N (3); shards count from 1",
            setup: |d| {
                let mut a = sweep_args(d, VALID);
                a.extend(["--shard".into(), "0/3".into()]);
                a
            },
        },
        Case {
            id: "shard-past-the-end",
            expect: "`4/3`: I must be between 1 and N (3)",
            setup: |d| {
                let mut a = sweep_args(d, VALID);
                a.extend(["--shard".into(), "4/3".into()]);
                a
            },
        },
        Case {
            id: "shard-not-numbers",
            expect: "`a/b`: I `a` is not a whole number",
            setup: |d| {
                let mut a = sweep_args(d, VALID);
                a.extend(["--shard".into(), "a/b".into()]);
                a
            },
        },
        Case {
            id: "slurm-task-id-not-a-number",
            expect: "SLURM_ARRAY_TASK_ID=`x` is not a whole number",
            setup: |d| sweep_args(d, VALID),
        },
        Case {
            id: "sbatch-missing",
            expect: "`sbatch` is not on PATH",
            setup: |d| {
                let file = experiment(d, "exp.toml", VALID);
                vec!["slurm".into(), file.display().to_string(), "--submit".into()]
            },
        },
        Case {
            id: "weight-reuse-slurm-tasks",
            expect: "so the sweep cannot be split into shards (--tasks 2)",
            setup: |d| {
                let file = experiment(d, "exp.toml", &VALID.replace("[model]\n", "[model]\nweight_reuse = true\n"));
                let runs = d.join("runs").display().to_string();
                vec!["slurm".into(), file.display().to_string(), "--tasks".into(), "2".into(), "--runs-dir".into(), runs]
            },
        },
        Case {
            id: "calibrate-unknown-scenario",
            expect: "--only: no scenario (zz)",
            setup: |_| vec!["calibrate".into(), "--only".into(), "f,zz".into(), "--draws".into(), "1".into()],
        },
        Case {
            id: "wgpu-not-built",
            expect: "built without the wgpu backend",
            setup: |d| {
                let mut a = sweep_args(d, VALID);
                a.extend(["--backend".into(), "wgpu".into()]);
                a
            },
        },
    ]
}

/// The environment a case runs in (a Slurm task's variables, a PATH without sbatch).
fn case_env(id: &str) -> Vec<(&'static str, &'static str)> {
    match id {
        "slurm-task-id-not-a-number" => {
            vec![("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "0")]
        }
        "sbatch-missing" => vec![("PATH", "/nonexistent")],
        _ => Vec::new(),
    }
}

#[test]
fn every_bad_input_gets_a_clear_error_and_a_nonzero_exit() {
    let mut failures = Vec::new();
    for case in cases() {
        if case.id == "wgpu-not-built" && cfg!(feature = "wgpu") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let args = (case.setup)(dir.path());
        let mut command = ddlab();
        for (name, value) in case_env(case.id) {
            command.env(name, value);
        }
        let out = command.args(&args).current_dir(dir.path()).output().unwrap();
        let err = stderr(&out);
        let ok = !out.status.success() && err.contains(case.expect) && !err.contains("panicked");
        if !ok {
            failures.push(format!("{}: exit {:?}, stderr: {err}", case.id, out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn readme_lists_exactly_these_cases() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("<!-- bad-input:start -->")
        .nth(1)
        .and_then(|t| t.split("<!-- bad-input:end -->").next())
        .expect("README has the bad-input table");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    let mut all: Vec<(&str, &str)> = cases().iter().map(|c| (c.id, c.expect)).collect();
    all.extend([("read-only-runs-dir", "Read-only file system"), ("disk-full", "the disk is full")]);
    assert!(all.len() >= 25);
    assert_eq!(rows.len(), all.len(), "README rows vs test cases");
    for (id, expect) in all {
        let row = rows.iter().find(|r| r.starts_with(&format!("| `{id}` |"))).unwrap_or_else(|| panic!("README lacks case {id}"));
        assert!(row.contains(&format!("`{}`", expect.replace('|', "\\|"))), "README row of {id} does not show `{expect}`");
    }
}

/// A read-only runs folder: the error says so, nothing is half-written.
#[test]
#[ignore = "needs root to mount a tmpfs; run with `-- --ignored`, as CI does"]
fn read_only_runs_dir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::new(&dir.path().join("ro"), "ro,size=1m").expect("cannot mount a tmpfs (needs root)");
    let file = experiment(dir.path(), "exp.toml", VALID);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", mount.0.to_str().unwrap(), "--no-probe"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Read-only file system") && stderr(&out).contains("/ro/"), "{}", stderr(&out));
}

/// A disk that fills up mid-sweep: a clear error, and every run marked DONE is complete and readable.
#[test]
#[ignore = "needs root to mount a tmpfs; run with `-- --ignored`, as CI does"]
fn full_disk_is_reported_and_finished_runs_survive() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::new(&dir.path().join("small"), "size=500k").expect("cannot mount a tmpfs (needs root)");
    let text = "seeds = [0, 1, 2]\n[data]\ndataset = \"teacher\"\npool = 300\ndim = 8\nclasses = 3\nn_train = 60\n[model]\nwidths = [1, 2, 4, 8, 16, 32, 64, 128, 256]\n[train]\nepochs = 5\ncheckpoint_every = 1\n";
    let file = experiment(dir.path(), "exp.toml", text);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", mount.0.to_str().unwrap()], dir.path());
    let err = stderr(&out) + &stdout(&out);
    assert!(!out.status.success(), "the sweep cannot fit in 500 KiB");
    assert!(err.contains("the disk is full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let sweep = sweep_folder(&mount.0);
    let mut done = 0;
    for entry in files(&sweep).iter().filter(|f| f.ends_with("/DONE")) {
        let run = sweep.join(entry).parent().unwrap().to_path_buf();
        let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
        assert!(record["summary"]["test_err"].is_number());
        assert!(std::fs::read_to_string(run.join("metrics.csv")).unwrap().lines().count() >= 2);
        assert!(std::fs::metadata(run.join("model.bpk")).unwrap().len() > 0);
        done += 1;
    }
    // The disk must fill up mid-sweep, not before the first run: otherwise nothing here was checked.
    assert!(done >= 1, "no run finished before the disk filled up: the case checks nothing");
    eprintln!("{done} runs finished before the disk filled up");
}

/// A command line that does not parse exits 64 (EX_USAGE), never 2 (which means "some runs failed or
/// diverged"); --help and --version exit 0.
#[test]
fn usage_errors_have_their_own_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["sweep", "--no-such-flag"][..], &["no-such-command"], &["probe"]] {
        let out = run(args, dir.path());
        assert_eq!(out.status.code(), Some(64), "ddlab {args:?}:\n{}", stderr(&out));
        assert!(stderr(&out).contains("Usage"), "ddlab {args:?} prints the usage:\n{}", stderr(&out));
    }
    for args in [&["--help"][..], &["--version"], &["sweep", "--help"]] {
        assert_eq!(run(args, dir.path()).status.code(), Some(0), "ddlab {args:?}");
    }
}
