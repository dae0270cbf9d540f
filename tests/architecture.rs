//! ARCHITECTURE.md's invariants, checked on the code: its crate-graph table is every library crate's
//! exact set of ddlab dependencies and none of its forbidden ones; no library crate prints or draws a
//! progress bar except the driver's progress reporter; the driver builds no path of the sweep folder
//! itself and no crate but store spells one of its files (store names them); the analysis crate's
//! modules form no import circle; and the contract between probe and analysis: the
//! probes emit every metric the verdict tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// ARCHITECTURE.md's crate-graph table: crate -> (depends on, never on).
fn table() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let start = text.find("| crate | depends on | never on |").expect("ARCHITECTURE.md has the crate-graph table");
    let list = |cell: &str| -> BTreeSet<String> {
        cell.split(',').map(str::trim).filter(|c| !c.is_empty() && *c != "-").map(str::to_string).collect()
    };
    text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), (list(cells[1]), list(cells[2])))
        })
        .collect()
}

/// A crate's `[dependencies]` (not dev-dependencies), `ddlab-` prefixes stripped.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().map(|k| k.strip_prefix("ddlab-").unwrap_or(k).to_string()).collect())
        .unwrap_or_default()
}

fn library_crates() -> BTreeSet<String> {
    std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_crate_graph_is_the_one_architecture_md_draws() {
    let table = table();
    let crates = library_crates();
    assert_eq!(table.keys().cloned().collect::<BTreeSet<_>>(), crates, "the table lists every library crate, and only those");
    for (krate, (allowed, forbidden)) in &table {
        let deps = dependencies(krate);
        let ours: BTreeSet<String> = deps.iter().filter(|d| crates.contains(*d)).cloned().collect();
        assert_eq!(&ours, allowed, "{krate}'s ddlab dependencies (crates/{krate}/Cargo.toml) are not ARCHITECTURE.md's");
        for f in forbidden {
            assert!(!deps.contains(f), "{krate} must never depend on {f}");
        }
    }
}

/// The source lines of a file up to its test module.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().enumerate().take_while(|(_, l)| !l.contains("#[cfg(test)]")).map(|(i, l)| (i + 1, l.to_string())).collect()
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn no_library_crate_prints_except_the_progress_reporter() {
    let reporter = root().join("crates/sweep/src/progress.rs");
    let mut found = Vec::new();
    for krate in library_crates() {
        for file in sources(&root().join("crates").join(&krate).join("src")) {
            if file == reporter {
                continue;
            }
            for (n, line) in code_lines(&file) {
                // indicatif draws on the terminal: only the reporter holds a bar.
                if ["println!", "eprintln!", "print!(", "eprint!(", "indicatif"].iter().any(|m| line.contains(m)) {
                    found.push(format!("{}:{n}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "library crates return what happened; the binary prints:\n{}", found.join("\n"));
}

#[test]
fn the_driver_builds_no_path_of_the_sweep_folder() {
    let mut found = Vec::new();
    for file in sources(&root().join("crates/sweep/src")) {
        for (n, line) in code_lines(&file) {
            let spelled = [".bpk\"", ".csv\"", ".json\"", ".toml\"", ".html\"", "\"DONE\"", "\"FAILED\"", "snapshots/"];
            if line.contains(".join(\"") || spelled.iter().any(|s| line.contains(s)) {
                found.push(format!("{}:{n}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "store names every path of the sweep folder (SweepDir methods):\n{}", found.join("\n"));
}

/// Store reads and writes every file of the sweep folder: the driver, the stages and the binary encode
/// none of them (no CSV, no atomic write, no file created or written) but hand store typed rows, or
/// another crate's bytes (a model's weights, a checkpoint's header), through its `SweepDir` methods.
/// (The data crate reads the user's datasets and the bench crate its own scratch files: neither is in
/// the sweep folder.)
#[test]
fn only_store_encodes_the_files_of_the_sweep_folder() {
    let forbidden = ["write_atomic", "read_csv", "write_csv", "csv::", "std::fs::write", "File::create", "OpenOptions"];
    let mut dirs: Vec<PathBuf> = ["sweep", "train", "probe", "model", "analysis", "report"]
        .iter()
        .map(|c| root().join("crates").join(c).join("src"))
        .collect();
    dirs.push(root().join("src"));
    let mut found = Vec::new();
    for dir in dirs {
        // `ddlab bench` writes its scratch experiment file into a temporary folder of its own.
        for file in sources(&dir).into_iter().filter(|f| !f.ends_with("src/bench.rs")) {
            for (n, line) in code_lines(&file) {
                if !line.trim_start().starts_with("//") && forbidden.iter().any(|f| line.contains(f)) {
                    found.push(format!("{}:{n}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "store reads and writes the sweep folder's files (SweepDir methods), but:\n{}", found.join("\n"));
}

/// The files of the sweep folder as store names them: every literal `.join("...")` in crates/store that
/// names a file (it has an extension, or is a run's marker file).
fn sweep_folder_files() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in sources(&root().join("crates/store/src")) {
        for (_, line) in code_lines(&file) {
            for (i, _) in line.match_indices(".join(\"") {
                let name: String = line[i + 7..].chars().take_while(|c| *c != '"').collect();
                if name.contains('.') || name.chars().all(|c| c.is_ascii_uppercase()) {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn no_crate_but_store_spells_a_file_of_the_sweep_folder() {
    let names = sweep_folder_files();
    for expected in ["runs.csv", "probes.csv", "spec.toml", "analysis.json", "model.bpk", "run.json", "DONE", "FAILED"] {
        assert!(names.contains(expected), "store names {expected}: {names:?}");
    }
    let mut dirs: Vec<PathBuf> =
        library_crates().into_iter().filter(|c| c != "store").map(|c| root().join("crates").join(c).join("src")).collect();
    dirs.push(root().join("src"));
    let mut found = Vec::new();
    for file in dirs.iter().flat_map(|d| sources(d)) {
        for (n, line) in code_lines(&file) {
            for name in &names {
                if line.contains(&format!("\"{name}\"")) {
                    found.push(format!("{}:{n}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "store names every file of the sweep folder (SweepDir methods), but:\n{}", found.join("\n"));
}

/// The analysis crate's modules form layers: following `crate::module` references (outside tests) from
/// any module never leads back to it. Returns the circles found, each as a path of modules.
fn import_circles(dir: &Path) -> Vec<Vec<String>> {
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(dir) {
        let module = file.file_stem().unwrap().to_string_lossy().to_string();
        let mut used = BTreeSet::new();
        for (_, line) in code_lines(&file) {
            let line = line.split("//").next().unwrap_or("");
            for (i, _) in line.match_indices("crate::") {
                let name: String =
                    line[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                if !name.is_empty() && name != module {
                    used.insert(name);
                }
            }
        }
        uses.insert(module, used);
    }
    let mut circles = Vec::new();
    // Depth-first from every module, along the import edges; a path that returns to its start is a circle.
    fn walk(at: &str, path: &mut Vec<String>, uses: &BTreeMap<String, BTreeSet<String>>, circles: &mut Vec<Vec<String>>) {
        for next in uses.get(at).into_iter().flatten() {
            if *next == path[0] {
                let mut circle = path.clone();
                circle.push(next.clone());
                circles.push(circle);
            } else if !path.contains(next) && path.len() < uses.len() {
                path.push(next.clone());
                walk(next, path, uses, circles);
                path.pop();
            }
        }
    }
    for start in uses.keys() {
        walk(start, &mut vec![start.clone()], &uses, &mut circles);
    }
    circles
}

#[test]
fn the_analysis_modules_form_no_import_circle() {
    let circles = import_circles(&root().join("crates/analysis/src"));
    let shown: Vec<String> = circles.iter().take(5).map(|c| c.join(" -> ")).collect();
    assert!(
        circles.is_empty(),
        "ARCHITECTURE.md: the analysis modules form layers, but {} circle(s), e.g.:\n{}",
        circles.len(),
        shown.join("\n")
    );
}

#[test]
fn the_probes_emit_every_metric_the_verdict_tests() {
    use burn::tensor::{Device, Tensor, TensorData};
    use ddlab_analysis::{LossSpace, seed_variance_metric, verdict_metrics};
    use ddlab_model::{MlpShape, MlpWeights};
    use ddlab_probe::{CrossView, ModelView, cka_between_seeds, probe_model, seed_ensemble};
    let device = Device::flex();
    let (n, d) = (24, 4);
    let values: Vec<f32> = (0..n * d).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
    let x = Tensor::<2>::from_data(TensorData::new(values, [n, d]), &device);
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let shape = MlpShape { input: d, width: 8, depth: 1, classes: 3 };
    let views: Vec<ModelView> =
        (0..3).map(|seed| ModelView::observe(&MlpWeights::init(shape, ddlab_config::Init::KaimingUniform, seed), &x)).collect();
    let crosses: Vec<CrossView> = views.iter().map(ModelView::cross).collect();
    let members: Vec<&CrossView> = crosses.iter().collect();
    let spec = ddlab_config::ProbeSpec { probe_set: n, draws: 2, q_grid: vec![0.25, 0.5, 0.75], every: 0 };
    let mut metrics = probe_model(&views[0], &labels, &spec, 0);
    metrics.extend(seed_ensemble(&members, &labels));
    metrics.push(cka_between_seeds(&members));
    let emitted: BTreeSet<String> = metrics.iter().map(|m| format!("{}/{}", m.probe, m.name)).collect();
    for loss in [LossSpace::Squared, LossSpace::CrossEntropy] {
        for id in verdict_metrics(loss).into_iter().chain([seed_variance_metric(loss)]) {
            assert!(emitted.contains(id.as_str()), "the verdict tests {id}, which no probe emits");
        }
    }
    // H5 reads the k-seed ensembles by their k-indexed ids: the probe emits k = 1..S under them.
    let ks: BTreeSet<usize> = emitted.iter().filter_map(|key| ddlab_config::metrics::ENSEMBLE_ERR_K.k_of(key)).collect();
    assert_eq!(ks, (1..=3).collect(), "the k-seed ensembles under {}", ddlab_config::metrics::ENSEMBLE_ERR_K.pattern());
}
