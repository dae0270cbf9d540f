//! Probing: every finished run, trained and at initialisation (and at schedule snapshots), on the probe
//! set; seed-ensemble and cross-width figures per width. Results are kept per run (`probes.csv` in the
//! run folder) and per width (`probes/<condition>/w<W>.csv`), so a re-run only probes what is new; the
//! sweep's probes.csv is their concatenation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::{Condition, RunKey};
use ddlab_data::{Prepared, balanced_indices};
use ddlab_model::{Mlp, MlpShape};
use ddlab_probe::{ModelView, Phase, ProbeRow, cka, probe_model, seed_ensemble};
use ddlab_store::{RunPhase, SweepDir, read_csv, write_csv_atomic};

/// A model to observe: which run, which phase, which weights file.
struct Target {
    seed: u64,
    phase: Phase,
    epoch: usize,
    file: PathBuf,
}

/// The probe set of a condition: a seeded, class-balanced subset of the test set.
fn probe_set(sweep: &SweepDir, prepared: &Prepared, device: &Device) -> (Tensor<2>, Vec<u32>) {
    let test = &prepared.test;
    let size = sweep.spec.probe.probe_set.min(test.len());
    let indices = if size == test.len() {
        (0..size).collect()
    } else {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(sweep.spec.data_seed);
        rng.set_stream(0x9b0be5e7);
        balanced_indices(&test.y, size, &mut rng)
    };
    let subset = test.select(&indices);
    (Tensor::from_data(TensorData::new(subset.x.clone(), [size, subset.dim]), device), subset.y)
}

/// Probes what is not probed yet, on `jobs` threads, and writes the sweep's probes.csv. `prepared` is the
/// data of every condition, as [`crate::prepare_conditions`] gives it.
pub fn probe_sweep(sweep: &SweepDir, prepared: &[Prepared], device: &Device, jobs: usize, quiet: bool) -> anyhow::Result<()> {
    let clock = Instant::now();
    let spec = &sweep.spec;
    let mut probed = 0;
    for (condition, data) in spec.conditions.iter().zip(prepared) {
        let (x, labels) = probe_set(sweep, data, device);
        let mut previous: Option<(usize, BTreeMap<(u64, Phase), ModelView>)> = None;
        for (wi, &width) in spec.model.widths.iter().enumerate() {
            let keys: Vec<RunKey> = spec
                .seeds
                .iter()
                .map(|&seed| RunKey { condition: *condition, width, seed })
                .filter(|k| matches!(sweep.phase(k), Ok(RunPhase::Finished(r)) if r.summary.status == ddlab_store::RunOutcome::Done))
                .collect();
            let shape = MlpShape { input: data.train.dim, width, depth: spec.model.depth, classes: data.classes };
            let per_run_missing: Vec<&RunKey> = keys.iter().filter(|k| !sweep.run_dir(k).join("probes.csv").exists()).collect();
            let cross_path = cross_file(sweep, condition, width);
            let previous_cross_missing = wi > 0 && !cross_file(sweep, condition, spec.model.widths[wi - 1]).exists();
            let needs_views = !per_run_missing.is_empty() || !cross_path.exists() || previous_cross_missing;
            if !needs_views || keys.is_empty() {
                previous = None;
                continue;
            }
            // Observe every finished seed at init and trained, in parallel; snapshots only where the
            // run's own probes are missing.
            let mut targets = Vec::new();
            for key in &keys {
                let dir = sweep.run_dir(key);
                let epochs = finished_epochs(sweep, key);
                targets.push(Target { seed: key.seed, phase: Phase::Init, epoch: 0, file: dir.join("init.bpk") });
                targets.push(Target { seed: key.seed, phase: Phase::Trained, epoch: epochs, file: dir.join("model.bpk") });
                if per_run_missing.contains(&key) {
                    targets.extend(snapshots(&dir).into_iter().map(|(epoch, file)| Target {
                        seed: key.seed,
                        phase: Phase::Snapshot,
                        epoch,
                        file,
                    }));
                }
            }
            let views = observe_all(&targets, shape, &x, device, jobs)?;
            // Per-run probes.
            let row = |seed: Option<u64>, phase: Phase, epoch: usize, (probe, metric, value): ddlab_probe::Metric| ProbeRow {
                condition: condition.label(),
                n_train: condition.n_train,
                label_noise: condition.label_noise,
                width,
                seed,
                phase,
                epoch,
                probe: probe.to_string(),
                metric,
                value,
            };
            for key in &per_run_missing {
                let mut rows = Vec::new();
                for (target, view) in targets.iter().zip(&views).filter(|(t, _)| t.seed == key.seed) {
                    rows.extend(
                        probe_model(view, &labels, &spec.probe, key.seed)
                            .into_iter()
                            .map(|m| row(Some(key.seed), target.phase, target.epoch, m)),
                    );
                }
                write_csv_atomic(&sweep.run_dir(key).join("probes.csv"), &rows)?;
                probed += 1;
            }
            // Seed ensemble and CKA between seeds (this width), CKA to the previous width (that width's file).
            let by_phase: BTreeMap<(u64, Phase), ModelView> = targets
                .into_iter()
                .zip(views)
                .filter(|(t, _)| t.phase != Phase::Snapshot)
                .map(|(t, v)| ((t.seed, t.phase), v))
                .collect();
            let epochs = spec.train.epochs;
            let mut cross = Vec::new();
            for phase in [Phase::Init, Phase::Trained] {
                let members: Vec<&ModelView> = by_phase.iter().filter(|((_, p), _)| *p == phase).map(|(_, v)| v).collect();
                let epoch = if phase == Phase::Init { 0 } else { epochs };
                if members.len() >= 2 {
                    cross.extend(seed_ensemble(&members, &labels).into_iter().map(|m| row(None, phase, epoch, m)));
                    let mut total = 0.0;
                    let mut pairs = 0;
                    for i in 0..members.len() {
                        for j in i + 1..members.len() {
                            total += cka(members[i], members[j]);
                            pairs += 1;
                        }
                    }
                    cross.push(row(None, phase, epoch, ("geometry", "cka_seeds".into(), total / pairs as f64)));
                }
            }
            if !cross_path.exists() {
                write_csv_atomic(&cross_path, &cross)?;
            }
            if let Some((prev_width, prev_views)) = previous.take() {
                let prev_path = cross_file(sweep, condition, prev_width);
                let mut prev_rows: Vec<ProbeRow> = if prev_path.exists() { read_csv(&prev_path)? } else { Vec::new() };
                if !prev_rows.iter().any(|r| r.metric == "cka_next_width") {
                    for ((seed, phase), view) in &prev_views {
                        if let Some(next) = by_phase.get(&(*seed, *phase)) {
                            let epoch = if *phase == Phase::Init { 0 } else { epochs };
                            let mut r = row(Some(*seed), *phase, epoch, ("geometry", "cka_next_width".into(), cka(view, next)));
                            r.width = prev_width;
                            prev_rows.push(r);
                        }
                    }
                    write_csv_atomic(&prev_path, &prev_rows)?;
                }
            }
            previous = Some((width, by_phase));
        }
    }
    let total = collect_probes(sweep)?;
    if !quiet {
        println!("probed {probed} runs in {:.1} s; probes.csv has {total} rows", clock.elapsed().as_secs_f64());
    }
    Ok(())
}

fn cross_file(sweep: &SweepDir, condition: &Condition, width: usize) -> PathBuf {
    sweep.root.join("probes").join(condition.label()).join(format!("w{width}.csv"))
}

fn finished_epochs(sweep: &SweepDir, key: &RunKey) -> usize {
    match sweep.phase(key) {
        Ok(RunPhase::Finished(r)) => r.summary.epochs,
        _ => sweep.spec.train.epochs,
    }
}

/// `(epoch, file)` of every schedule snapshot of a run.
fn snapshots(dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(dir.join("snapshots"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let epoch = name.strip_prefix('e')?.strip_suffix(".bpk")?.parse().ok()?;
            Some((epoch, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Observes every target (load weights, forward, Grams) on `jobs` threads.
fn observe_all(
    targets: &[Target],
    shape: MlpShape,
    x: &Tensor<2>,
    device: &Device,
    jobs: usize,
) -> anyhow::Result<Vec<ModelView>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<anyhow::Result<ModelView>>>> =
        targets.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, targets.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let view = Mlp::load(shape, &target.file, device)
                        .map_err(anyhow::Error::msg)
                        .map(|mlp| ModelView::observe(&mlp.to_weights(shape), x));
                    *results[i].lock().unwrap() = Some(view);
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().unwrap().expect("every target observed")).collect()
}

/// Concatenates every per-run and per-width probe file into the sweep's probes.csv.
pub fn collect_probes(sweep: &SweepDir) -> anyhow::Result<usize> {
    let mut rows: Vec<ProbeRow> = Vec::new();
    for key in sweep.spec.runs() {
        let path = sweep.run_dir(&key).join("probes.csv");
        if path.exists() {
            rows.extend(read_csv::<ProbeRow>(&path)?);
        }
    }
    for condition in &sweep.spec.conditions {
        for &width in &sweep.spec.model.widths {
            let path = cross_file(sweep, condition, width);
            if path.exists() {
                rows.extend(read_csv::<ProbeRow>(&path)?);
            }
        }
    }
    write_csv_atomic(&sweep.path("probes.csv"), &rows)?;
    Ok(rows.len())
}
