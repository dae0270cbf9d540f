//! Probing: every finished run, trained and at initialisation (and at schedule snapshots), on the probe
//! set; seed-ensemble and cross-width figures per width (docs/SCIENCE.md, Probes). Results are kept per
//! run (`probes.csv` in the run folder) and per width (`probes/<condition>/w<W>.csv`, with the seeds it
//! was computed from in `w<W>.seeds.json`), so a re-run only probes what is new or what depends on seeds
//! that finished since; the sweep's probes.csv is their concatenation. An undefined metric is an empty
//! `value` with its reason in `undefined`; probes.csv never holds NaN.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_config::{Condition, RunKey};
use ddlab_data::{Prepared, balanced_indices};
use ddlab_model::{Mlp, MlpShape};
use ddlab_probe::{Metric, ModelView, Phase, ProbeRow, cka, kw_comparison, probe_model, seed_ensemble};
use ddlab_store::{RunOutcome, RunPhase, SweepDir, read_csv, write_atomic, write_csv_atomic};
use serde::{Deserialize, Serialize};

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
        rng.set_stream(ddlab_config::streams::PROBE_SET);
        balanced_indices(&test.y, size, &mut rng)
    };
    let subset = test.select(&indices);
    (Tensor::from_data(TensorData::new(subset.x.clone(), [size, subset.dim]), device), subset.y)
}

/// Which finished seeds a per-width file (`probes/<condition>/w<W>.csv`) was computed from: its seed
/// ensemble and CKA between seeds use `seeds`, its `cka_next_width` rows the seeds finished at both this
/// width and `next_width`. Written beside it (`w<W>.seeds.json`) after it; when the finished seeds
/// differ on a later run (a resumed sweep, `--retry-failed`), the file is computed again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct CrossSeeds {
    seeds: Vec<u64>,
    next_width: Option<usize>,
    next_seeds: Vec<u64>,
}

/// A per-width file waiting for the next width's views (for `cka_next_width`).
struct Pending {
    width: usize,
    rows: Vec<ProbeRow>,
    views: BTreeMap<(u64, Phase), ModelView>,
    seeds: CrossSeeds,
}

/// A probes.csv row of one metric.
fn probe_row(condition: &Condition, width: usize, seed: Option<u64>, phase: Phase, epoch: usize, metric: Metric) -> ProbeRow {
    let mut row = ProbeRow {
        condition: condition.label(),
        n_train: condition.n_train,
        label_noise: condition.label_noise,
        width,
        seed,
        phase,
        epoch,
        probe: metric.probe.to_string(),
        metric: metric.name,
        value: None,
        undefined: String::new(),
    };
    row.set(&metric.value);
    row
}

/// Whether a run's probes.csv exists in the current format. Files written before metrics could be
/// undefined (no `undefined` column) may hold NaN and the old single-space names: probe again.
fn run_probes_current(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().next().is_some_and(|h| h.split(',').any(|c| c == "undefined")))
}

/// Probes what is not probed yet, on `jobs` threads, and writes the sweep's probes.csv. `prepared` is the
/// data of every condition, as [`crate::prepare_conditions`] gives it. A run's own probes are computed
/// once; the per-width files (seed ensemble, CKA between seeds and to the next width) whenever the set
/// of finished seeds they depend on has changed.
pub fn probe_sweep(sweep: &SweepDir, prepared: &[Prepared], device: &Device, jobs: usize) -> crate::Result<Probed> {
    let clock = Instant::now();
    let spec = &sweep.spec;
    if let Some(why) = spec.probes_not_applicable() {
        // Nothing to probe: an empty probes.csv says the stage ran, and the analysis carries the reason.
        write_atomic(&sweep.probes_csv(), ProbeRow::HEADER.as_bytes())?;
        return Ok(Probed { runs: 0, rows: 0, seconds: 0.0, not_applicable: Some(why) });
    }
    let widths = &spec.model.widths;
    let mut probed = 0;
    for (condition, data) in spec.conditions.iter().zip(prepared) {
        let epochs = spec.train_for(condition).epochs;
        let (x, labels) = probe_set(sweep, data, device);
        let finished: Vec<Vec<RunKey>> = widths
            .iter()
            .map(|&width| {
                spec.seeds
                    .iter()
                    .map(|&seed| RunKey { condition: *condition, width, seed })
                    .filter(|k| matches!(sweep.phase(k), Ok(RunPhase::Finished(r)) if r.summary.status == RunOutcome::Done))
                    .collect()
            })
            .collect();
        fn seeds_of(keys: &[RunKey]) -> Vec<u64> {
            keys.iter().map(|k| k.seed).collect()
        }
        let expected: Vec<CrossSeeds> = (0..widths.len())
            .map(|i| CrossSeeds {
                seeds: seeds_of(&finished[i]),
                next_width: widths.get(i + 1).copied(),
                next_seeds: finished.get(i + 1).map_or_else(Vec::new, |k| seeds_of(k)),
            })
            .collect();
        let stale: Vec<bool> = (0..widths.len())
            .map(|i| {
                let path = sweep.width_probes_path(condition, widths[i]);
                let recorded: Option<CrossSeeds> =
                    std::fs::read(SweepDir::seeds_sidecar(&path)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
                !path.exists() || recorded.as_ref() != Some(&expected[i])
            })
            .collect();
        let mut pending: Option<Pending> = None;
        for (wi, &width) in widths.iter().enumerate() {
            let keys = &finished[wi];
            let shape = MlpShape { input: data.train.dim, width, depth: spec.model.depth, classes: data.classes };
            let per_run_missing: Vec<&RunKey> = keys.iter().filter(|k| !run_probes_current(&sweep.run_probes_path(k))).collect();
            if per_run_missing.is_empty() && !stale[wi] && pending.is_none() {
                continue;
            }
            // Observe every finished seed at init and trained, in parallel; snapshots only where the
            // run's own probes are missing.
            let mut targets = Vec::new();
            for key in keys {
                let epochs = finished_epochs(sweep, key);
                targets.push(Target { seed: key.seed, phase: Phase::Init, epoch: 0, file: sweep.init_weights_path(key) });
                targets.push(Target { seed: key.seed, phase: Phase::Trained, epoch: epochs, file: sweep.model_path(key) });
                if per_run_missing.contains(&key) {
                    targets.extend(sweep.snapshots(key).into_iter().map(|(epoch, file)| Target {
                        seed: key.seed,
                        phase: Phase::Snapshot,
                        epoch,
                        file,
                    }));
                }
            }
            let views = if targets.is_empty() { Vec::new() } else { observe_all(sweep, &targets, shape, &x, device, jobs)? };
            // Per-run probes.
            for key in &per_run_missing {
                let mut rows = Vec::new();
                for (target, view) in targets.iter().zip(&views).filter(|(t, _)| t.seed == key.seed) {
                    rows.extend(
                        probe_model(view, &labels, &spec.probe, key.seed)
                            .into_iter()
                            .map(|m| probe_row(condition, width, Some(key.seed), target.phase, target.epoch, m)),
                    );
                }
                write_csv_atomic(&sweep.run_probes_path(key), &rows)?;
                probed += 1;
            }
            let by_phase: BTreeMap<(u64, Phase), ModelView> = targets
                .into_iter()
                .zip(views)
                .filter(|(t, _)| t.phase != Phase::Snapshot)
                .map(|(t, v)| ((t.seed, t.phase), v))
                .collect();
            // The previous width's file, waiting for CKA to this width.
            if let Some(mut p) = pending.take() {
                for ((seed, phase), view) in &p.views {
                    if let Some(next) = by_phase.get(&(*seed, *phase)) {
                        let epoch = if *phase == Phase::Init { 0 } else { epochs };
                        let metric = Metric::from_value("geometry", "cka_next_width", cka(view, next));
                        p.rows.push(probe_row(condition, p.width, Some(*seed), *phase, epoch, metric));
                    }
                }
                write_cross(sweep, condition, &p)?;
            }
            if stale[wi] {
                // Seed ensemble and CKA between seeds of this width.
                let mut rows = Vec::new();
                for phase in [Phase::Init, Phase::Trained] {
                    let members: Vec<&ModelView> = by_phase.iter().filter(|((_, p), _)| *p == phase).map(|(_, v)| v).collect();
                    let epoch = if phase == Phase::Init { 0 } else { epochs };
                    if members.len() >= 2 {
                        rows.extend(
                            seed_ensemble(&members, &labels)
                                .into_iter()
                                .map(|m| probe_row(condition, width, None, phase, epoch, m)),
                        );
                        rows.push(probe_row(condition, width, None, phase, epoch, cka_between_seeds(&members)));
                    }
                }
                pending = Some(Pending { width, rows, views: by_phase, seeds: expected[wi].clone() });
            }
        }
        if let Some(p) = pending.take() {
            write_cross(sweep, condition, &p)?;
        }
        // One net of width kW against k nets of width W: recomputed whenever any width's finished seeds
        // changed (the sidecar records them all).
        let all_seeds: Vec<Vec<u64>> = finished.iter().map(|keys| seeds_of(keys)).collect();
        let kw_path = sweep.kw_probes_path(condition);
        let recorded: Option<Vec<Vec<u64>>> =
            std::fs::read(SweepDir::seeds_sidecar(&kw_path)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if !kw_path.exists() || recorded.as_ref() != Some(&all_seeds) {
            let rows = kw_rows(sweep, condition, data, &finished, (&x, &labels), device)?;
            write_csv_atomic(&kw_path, &rows)?;
            write_atomic(&SweepDir::seeds_sidecar(&kw_path), &serde_json::to_vec_pretty(&all_seeds)?)?;
        }
    }
    let total = collect_probes(sweep)?;
    Ok(Probed { runs: probed, rows: total, seconds: clock.elapsed().as_secs_f64(), not_applicable: None })
}

/// What [`probe_sweep`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Probed {
    /// Runs probed now (the others were probed before).
    pub runs: usize,
    /// Rows of the sweep's probes.csv.
    pub rows: usize,
    pub seconds: f64,
    /// Why nothing was probed (a linear model, regression targets).
    pub not_applicable: Option<String>,
}

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.not_applicable {
            Some(why) => write!(f, "probes: none ({why})"),
            None => write!(f, "probed {} runs in {:.1} s; probes.csv has {} rows", self.runs, self.seconds, self.rows),
        }
    }
}

/// How far (in octaves) the grid width that stands in for k W may lie from k W: the default grid's widths
/// are about 0.55 octave apart, so most W have a partner for k = 2..5 within this.
const KW_TOLERANCE_OCTAVES: f64 = 0.15;

/// `(k, i, j)`: width `j` of the grid stands in for k times width `i` (k = 2..=max_k), the closest in log2
/// and within [`KW_TOLERANCE_OCTAVES`].
fn kw_partners(widths: &[usize], max_k: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for k in 2..=max_k {
        for (i, &w) in widths.iter().enumerate() {
            let target = ((k * w) as f64).log2();
            let closest = (0..widths.len()).min_by(|&a, &b| {
                ((widths[a] as f64).log2() - target).abs().total_cmp(&((widths[b] as f64).log2() - target).abs())
            });
            if let Some(j) =
                closest.filter(|&j| widths[j] > w && ((widths[j] as f64).log2() - target).abs() <= KW_TOLERANCE_OCTAVES)
            {
                out.push((k, i, j));
            }
        }
    }
    out
}

/// H5's intervention rows (docs/SCIENCE.md, Probes, P5): for every width W with a kW partner in the grid,
/// each seed s of the wide net against the ensemble of k narrow nets (the k finished seeds of width W from
/// s on, cyclically): `seed_ensemble/kw_err_diff_k{k}` and `seed_ensemble/kw_disagreement_k{k}` at width W,
/// seed s.
fn kw_rows(
    sweep: &SweepDir,
    condition: &Condition,
    data: &Prepared,
    finished: &[Vec<RunKey>],
    (x, labels): (&Tensor<2>, &[u32]),
    device: &Device,
) -> crate::Result<Vec<ProbeRow>> {
    let spec = &sweep.spec;
    let widths = &spec.model.widths;
    let partners = kw_partners(widths, finished.iter().map(Vec::len).max().unwrap_or(0));
    let involved: std::collections::BTreeSet<usize> = partners.iter().flat_map(|&(_, i, j)| [i, j]).collect();
    // Only outputs are needed: a forward pass of each trained model on the probe set.
    let mut outputs: BTreeMap<usize, Vec<Vec<f32>>> = BTreeMap::new();
    for i in involved {
        let shape = MlpShape { input: data.train.dim, width: widths[i], depth: spec.model.depth, classes: data.classes };
        let models = finished[i]
            .iter()
            .map(|key| {
                let mlp = load_model(sweep, shape, &sweep.model_path(key), device)?;
                Ok(ddlab_model::host_f32(mlp.forward(x.clone())))
            })
            .collect::<crate::Result<Vec<_>>>()?;
        outputs.insert(i, models);
    }
    let mut rows = Vec::new();
    for (k, i, j) in partners {
        let (narrow, wide) = (&outputs[&i], &outputs[&j]);
        if narrow.len() < k {
            continue;
        }
        for (position, wide_key) in finished[j].iter().enumerate() {
            let start = finished[i].iter().position(|key| key.seed == wide_key.seed).unwrap_or(position % narrow.len());
            let members: Vec<&[f32]> = (0..k).map(|d| narrow[(start + d) % narrow.len()].as_slice()).collect();
            let (err_diff, disagreement) = kw_comparison(&wide[position], &members, labels, data.classes);
            let epoch = finished_epochs(sweep, wide_key);
            for (name, value) in [(format!("kw_err_diff_k{k}"), err_diff), (format!("kw_disagreement_k{k}"), disagreement)] {
                let metric = Metric::new("seed_ensemble", name, value);
                rows.push(probe_row(condition, widths[i], Some(wide_key.seed), Phase::Trained, epoch, metric));
            }
        }
    }
    Ok(rows)
}

/// Mean unbiased CKA over the pairs of seeds where it is defined; undefined (with the first pair's
/// reason) when it is defined for no pair, e.g. on fewer than 4 probe inputs.
fn cka_between_seeds(members: &[&ModelView]) -> Metric {
    let mut values = Vec::new();
    let mut reason = None;
    for i in 0..members.len() {
        for j in i + 1..members.len() {
            match cka(members[i], members[j]) {
                Ok(v) => values.push(v),
                Err(e) => reason = reason.or(Some(e)),
            }
        }
    }
    let value = if values.is_empty() {
        Err(reason.unwrap_or_else(|| "fewer than two seeds".into()))
    } else {
        Ok(values.iter().sum::<f64>() / values.len() as f64)
    };
    Metric::from_value("geometry", "cka_seeds", value)
}

/// Writes a per-width file, then its seeds sidecar (last, so that a crash in between leaves it stale).
fn write_cross(sweep: &SweepDir, condition: &Condition, p: &Pending) -> crate::Result<()> {
    let path = sweep.width_probes_path(condition, p.width);
    write_csv_atomic(&path, &p.rows)?;
    write_atomic(&SweepDir::seeds_sidecar(&path), &serde_json::to_vec_pretty(&p.seeds)?)?;
    Ok(())
}

/// The seeds sidecar of a per-width file: `w<W>.seeds.json` beside `w<W>.csv`.
fn finished_epochs(sweep: &SweepDir, key: &RunKey) -> usize {
    match sweep.phase(key) {
        Ok(RunPhase::Finished(r)) => r.summary.epochs,
        _ => sweep.spec.train_for(&key.condition).epochs,
    }
}

/// A stored model of `shape` (the store reads the bytes, the model crate decodes them).
fn load_model(sweep: &SweepDir, shape: MlpShape, path: &Path, device: &Device) -> crate::Result<Mlp> {
    let bytes = sweep.read_bytes(path)?;
    Mlp::from_bytes(shape, bytes, device).map_err(|e| crate::SweepError::file(path, e))
}

/// Observes every target (load weights, forward, Grams) on `jobs` threads.
fn observe_all(
    sweep: &SweepDir,
    targets: &[Target],
    shape: MlpShape,
    x: &Tensor<2>,
    device: &Device,
    jobs: usize,
) -> crate::Result<Vec<ModelView>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<crate::Result<ModelView>>>> =
        targets.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, targets.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let view =
                        load_model(sweep, shape, &target.file, device).map(|mlp| ModelView::observe(&mlp.to_weights(shape), x));
                    *results[i].lock().unwrap() = Some(view);
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().unwrap().expect("every target observed")).collect()
}

/// Concatenates every per-run and per-width probe file into the sweep's probes.csv.
pub fn collect_probes(sweep: &SweepDir) -> crate::Result<usize> {
    let mut rows: Vec<ProbeRow> = Vec::new();
    for key in sweep.spec.runs() {
        let path = sweep.run_probes_path(&key);
        if path.exists() {
            rows.extend(read_csv::<ProbeRow>(&path)?);
        }
    }
    for condition in &sweep.spec.conditions {
        let per_width = sweep.spec.model.widths.iter().map(|&width| sweep.width_probes_path(condition, width));
        for path in per_width.chain([sweep.kw_probes_path(condition)]) {
            if path.exists() {
                rows.extend(read_csv::<ProbeRow>(&path)?);
            }
        }
    }
    // No NaN or inf reaches probes.csv, whatever an older file held.
    for row in &mut rows {
        let value = row.result();
        row.set(&value);
    }
    write_csv_atomic(&sweep.probes_csv(), &rows)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ddlab-probe-runs-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn row(metric: Metric) -> ProbeRow {
        let condition = Condition::new(60, 0.2);
        probe_row(&condition, 4, Some(1), Phase::Init, 0, metric)
    }

    #[test]
    fn kw_partners_are_the_closest_grid_widths_within_tolerance() {
        // The default grid: 5 -> 10 (k 2), 15 (k 3); 7 -> 15 (k 2: 14, 0.10 octave off); 1024 has none.
        let widths = [1, 2, 3, 5, 7, 10, 15, 22, 32, 47, 69, 102, 149, 219, 323, 474, 697, 1024];
        let partners = kw_partners(&widths, 5);
        let at = |k: usize, w: usize| partners.iter().find(|p| p.0 == k && widths[p.1] == w).map(|p| widths[p.2]);
        assert_eq!(at(2, 5), Some(10));
        assert_eq!(at(3, 5), Some(15));
        assert_eq!(at(2, 7), Some(15));
        assert_eq!(at(2, 1), Some(2));
        assert_eq!(at(2, 1024), None);
        assert_eq!(at(4, 2), None, "8 is 0.19 octave from 7: out of tolerance");
        assert!(
            partners.iter().all(|&(k, i, j)| ((widths[j] as f64) / (k * widths[i]) as f64).log2().abs() <= KW_TOLERANCE_OCTAVES)
        );
    }

    #[test]
    fn undefined_metrics_are_empty_cells_with_their_reason() {
        let dir = scratch("csv");
        let path = dir.join("probes.csv");
        let rows = vec![
            row(Metric::new("competence", "chance_err", 0.5)),
            row(Metric::undefined("competence", "n_eff", "full network not clearly better than chance")),
            row(Metric::new("geometry", "cka_seeds", f64::NAN)),
        ];
        write_csv_atomic(&path, &rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().next().unwrap().ends_with(",value,undefined"), "{text}");
        assert!(text.contains(",competence,n_eff,,full network not clearly better than chance\n"), "{text}");
        assert!(!text.to_lowercase().contains("nan,") && !text.contains("inf"), "{text}");
        assert!(run_probes_current(&path));
        let back: Vec<ProbeRow> = read_csv(&path).unwrap();
        assert_eq!(back, rows);
        assert_eq!(back[1].value, None);
        assert!(back[2].result().is_err());
        // A file written before the `undefined` column: readable, and probed again.
        let old = dir.join("old.csv");
        std::fs::write(
            &old,
            "condition,n_train,label_noise,width,seed,phase,epoch,probe,metric,value\n\
             n60-noise0.2,60,0.2,4,1,init,0,competence,n_eff,NaN\n",
        )
        .unwrap();
        let old_rows: Vec<ProbeRow> = read_csv(&old).unwrap();
        assert!(old_rows[0].result().is_err(), "an old NaN reads as undefined");
        assert!(!run_probes_current(&old));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
