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
use ddlab_config::{Condition, RunKey, Spec};
use ddlab_data::Prepared;

use crate::RunFunction;
use crate::context::SweepContext;
use crate::pool::{Workers, for_each};
use ddlab_probe::{
    CrossView, Metric, ModelView, ProbeLimits, cka, cka_between_seeds, kw_metrics, kw_partners, probe_model, probe_set_indices,
    seed_ensemble, seed_ensemble_without,
};
use ddlab_store::{Phase, Phases, ProbeRow, SweepDir};
use serde::{Deserialize, Serialize};

/// A model to observe: which run, which phase, which weights file.
struct Target {
    key: RunKey,
    phase: Phase,
    epoch: usize,
    file: PathBuf,
}

/// The probe set of a condition (chosen by [`probe_set_indices`]) on the device, and its labels.
fn probe_set(spec: &Spec, prepared: &Prepared, device: &Device) -> (Tensor<2>, Vec<u32>) {
    let test = &prepared.test;
    let indices = probe_set_indices(&test.y, spec.probe.probe_set, spec.data_seed);
    let subset = test.select(&indices);
    (Tensor::from_data(TensorData::new(subset.x.clone(), [indices.len(), subset.dim]), device), subset.y)
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
    views: BTreeMap<(u64, Phase), CrossView>,
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

/// Probes the runs finished in `phases` that are not probed yet, on `jobs` threads, and writes the
/// sweep's probes.csv. A run's own probes are computed once; the per-width files (seed ensemble, CKA
/// between seeds and to the next width) whenever the set of finished seeds they depend on has changed.
pub fn probe_sweep(ctx: &SweepContext, phases: &Phases, device: &Device, jobs: usize) -> crate::Result<Probed> {
    let clock = Instant::now();
    let sweep = &ctx.dir;
    if let Some(why) = sweep.spec.probes_not_applicable() {
        // Nothing to probe: an empty probes.csv says the stage ran, and the analysis carries the reason.
        sweep.write_probes(&sweep.probes_csv(), &[])?;
        return Ok(Probed { runs: 0, rows: 0, seconds: 0.0, not_applicable: Some(why) });
    }
    let mut probed = 0;
    for (index, (condition, data)) in sweep.spec.conditions.iter().zip(&ctx.prepared).enumerate() {
        let plan = ConditionPlan::new(sweep, index, phases);
        let probe_set = probe_set(&sweep.spec, data, device);
        let mut pending: Option<Pending> = None;
        for wi in 0..plan.widths.len() {
            let Some(work) = plan.width_work(sweep, wi, pending.is_some()) else { continue };
            let observed = if work.targets.is_empty() {
                Vec::new()
            } else {
                probe_all(ctx, &work, (&probe_set.0, &probe_set.1), device, jobs)?
            };
            probed += write_run_probes(sweep, plan.widths[wi], &work, &observed)?;
            let by_phase: BTreeMap<(u64, Phase), CrossView> = work
                .targets
                .into_iter()
                .zip(observed)
                .filter(|(t, _)| t.phase != Phase::Snapshot)
                .map(|(t, o)| ((t.key.seed, t.phase), o.cross))
                .collect();
            // The previous width's file, waiting for CKA to this width.
            if let Some(p) = pending.take() {
                write_cross(sweep, condition, &p.with_cka_to(&by_phase, condition, plan.epochs))?;
            }
            if plan.stale[wi] {
                let rows = width_rows(condition, plan.widths[wi], plan.epochs, &by_phase, &probe_set.1);
                pending = Some(Pending { width: plan.widths[wi], rows, views: by_phase, seeds: plan.expected[wi].clone() });
            }
        }
        if let Some(p) = pending.take() {
            write_cross(sweep, condition, &p)?;
        }
        // One net of width kW against k nets of width W: recomputed whenever any width's finished seeds
        // changed (the sidecar records them all).
        let all_seeds: Vec<Vec<u64>> = plan.finished.iter().map(|keys| seeds_of(keys)).collect();
        let kw_path = sweep.kw_probes_path(condition);
        let recorded: Option<Vec<Vec<u64>>> = sweep.read_seeds_record(&kw_path);
        if !kw_path.exists() || recorded.as_ref() != Some(&all_seeds) {
            let rows = kw_rows(ctx, condition, data, &plan, (&probe_set.0, &probe_set.1), device)?;
            sweep.write_probes(&kw_path, &rows)?;
            sweep.write_seeds_record(&kw_path, &all_seeds)?;
        }
    }
    let total = collect_probes(sweep)?;
    Ok(Probed { runs: probed, rows: total, seconds: clock.elapsed().as_secs_f64(), not_applicable: None })
}

fn seeds_of(keys: &[RunKey]) -> Vec<u64> {
    keys.iter().map(|k| k.seed).collect()
}

/// What probing a condition involves: its finished runs per width, the seeds each per-width file should be
/// computed from, and which of those files are stale.
struct ConditionPlan {
    widths: Vec<usize>,
    /// Training epochs of the condition (the trained phase's epoch).
    epochs: usize,
    /// Per width, its runs that finished without diverging.
    finished: Vec<Vec<RunKey>>,
    /// The epochs each of those runs trained for (its record).
    trained_epochs: BTreeMap<RunKey, usize>,
    expected: Vec<CrossSeeds>,
    stale: Vec<bool>,
}

/// The models to observe at one width, and which of its runs lack their own probes.
struct WidthWork {
    targets: Vec<Target>,
    per_run_missing: Vec<RunKey>,
}

impl ConditionPlan {
    fn new(sweep: &SweepDir, index: usize, phases: &Phases) -> Self {
        let spec = &sweep.spec;
        let condition = &spec.conditions[index];
        let widths = spec.model.widths.clone();
        let mut finished: Vec<Vec<RunKey>> = Vec::new();
        let mut trained_epochs = BTreeMap::new();
        for &width in &widths {
            let mut done = Vec::new();
            for &seed in &spec.seeds {
                let key = spec.run_key(index, width, seed);
                if let Some(record) = phases.done(&key) {
                    done.push(key);
                    trained_epochs.insert(key, record.summary.epochs);
                }
            }
            finished.push(done);
        }
        let expected: Vec<CrossSeeds> = (0..widths.len())
            .map(|i| CrossSeeds {
                seeds: seeds_of(&finished[i]),
                next_width: widths.get(i + 1).copied(),
                next_seeds: finished.get(i + 1).map_or_else(Vec::new, |k| seeds_of(k)),
            })
            .collect();
        let stale = (0..widths.len())
            .map(|i| {
                let path = sweep.width_probes_path(condition, widths[i]);
                let recorded: Option<CrossSeeds> = sweep.read_seeds_record(&path);
                !path.exists() || recorded.as_ref() != Some(&expected[i])
            })
            .collect();
        ConditionPlan { widths, epochs: spec.train_for(condition).epochs, finished, trained_epochs, expected, stale }
    }

    /// The work at width `wi`: None when its runs' probes and its per-width file are current and no
    /// previous width waits for its views (`previous_waiting`). Every finished seed is observed at init
    /// and trained; snapshots only where the run's own probes are missing.
    fn width_work(&self, sweep: &SweepDir, wi: usize, previous_waiting: bool) -> Option<WidthWork> {
        let keys = &self.finished[wi];
        let per_run_missing: Vec<RunKey> =
            keys.iter().filter(|k| !sweep.probes_current(&sweep.run_probes_path(k))).copied().collect();
        if per_run_missing.is_empty() && !self.stale[wi] && !previous_waiting {
            return None;
        }
        let mut targets = Vec::new();
        for key in keys {
            let epochs = self.trained_epochs[key];
            targets.push(Target { key: *key, phase: Phase::Init, epoch: 0, file: sweep.init_weights_path(key) });
            targets.push(Target { key: *key, phase: Phase::Trained, epoch: epochs, file: sweep.model_path(key) });
            if per_run_missing.contains(key) {
                targets.extend(sweep.snapshots(key).into_iter().map(|(epoch, file)| Target {
                    key: *key,
                    phase: Phase::Snapshot,
                    epoch,
                    file,
                }));
            }
        }
        Some(WidthWork { targets, per_run_missing })
    }
}

/// Writes the own probes of the runs of this width that lacked them (computed by [`probe_all`]); returns
/// how many.
fn write_run_probes(sweep: &SweepDir, width: usize, work: &WidthWork, observed: &[Observed]) -> crate::Result<usize> {
    for key in &work.per_run_missing {
        let mut rows = Vec::new();
        for (target, seen) in work.targets.iter().zip(observed).filter(|(t, _)| t.key == *key) {
            let metrics = seen.own.clone().expect("a run lacking its probes is probed");
            rows.extend(
                metrics
                    .into_iter()
                    .map(|m| probe_row(sweep.spec.condition_of(key), width, Some(key.seed), target.phase, target.epoch, m)),
            );
        }
        sweep.write_probes(&sweep.run_probes_path(key), &rows)?;
    }
    Ok(work.per_run_missing.len())
}

/// The seed ensemble and the CKA between seeds of one width, at init and trained.
fn width_rows(
    condition: &Condition,
    width: usize,
    epochs: usize,
    by_phase: &BTreeMap<(u64, Phase), CrossView>,
    labels: &[u32],
) -> Vec<ProbeRow> {
    let mut rows = Vec::new();
    for phase in [Phase::Init, Phase::Trained] {
        let members: Vec<&CrossView> = by_phase.iter().filter(|((_, p), _)| *p == phase).map(|(_, v)| v).collect();
        let epoch = if phase == Phase::Init { 0 } else { epochs };
        if members.len() >= 2 {
            rows.extend(seed_ensemble(&members, labels).into_iter().map(|m| probe_row(condition, width, None, phase, epoch, m)));
            rows.push(probe_row(condition, width, None, phase, epoch, cka_between_seeds(&members)));
        }
        // Leave-one-seed-out figures of the trained ensemble (H4's and H5's jackknife), on the row of the
        // seed left out.
        if phase == Phase::Trained {
            let seeded: Vec<(u64, &CrossView)> =
                by_phase.iter().filter(|((_, p), _)| *p == phase).map(|((s, _), v)| (*s, v)).collect();
            for (seed, metrics) in seed_ensemble_without(&seeded, labels) {
                rows.extend(metrics.into_iter().map(|m| probe_row(condition, width, Some(seed), phase, epoch, m)));
            }
        }
    }
    rows
}

impl Pending {
    /// This width's rows with `cka_next_width` to the next width's views added, seed by seed.
    fn with_cka_to(mut self, next: &BTreeMap<(u64, Phase), CrossView>, condition: &Condition, epochs: usize) -> Self {
        for ((seed, phase), view) in &self.views {
            if let Some(next) = next.get(&(*seed, *phase)) {
                let epoch = if *phase == Phase::Init { 0 } else { epochs };
                let metric = Metric::from_value("geometry", "cka_next_width", cka(view, next));
                self.rows.push(probe_row(condition, self.width, Some(*seed), *phase, epoch, metric));
            }
        }
        self
    }
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

/// H5's intervention rows (docs/SCIENCE.md, Probes, P5): for every width W with a kW partner in the grid,
/// each seed s of the wide net against the ensemble of k narrow nets (the k finished seeds of width W from
/// s on, cyclically): `seed_ensemble/kw_err_diff_k{k}` and `seed_ensemble/kw_disagreement_k{k}` at width W,
/// seed s.
fn kw_rows(
    ctx: &SweepContext,
    condition: &Condition,
    data: &Prepared,
    plan: &ConditionPlan,
    (x, labels): (&Tensor<2>, &[u32]),
    device: &Device,
) -> crate::Result<Vec<ProbeRow>> {
    let spec = ctx.spec();
    let finished = &plan.finished;
    let widths = &spec.model.widths;
    let partners = kw_partners(widths, finished.iter().map(Vec::len).max().unwrap_or(0));
    let involved: std::collections::BTreeSet<usize> = partners.iter().flat_map(|&(_, i, j)| [i, j]).collect();
    // Only outputs are needed: each trained model's function on the probe set.
    let mut outputs: BTreeMap<usize, Vec<Vec<f32>>> = BTreeMap::new();
    for i in involved {
        let models = finished[i]
            .iter()
            .map(|key| Ok(RunFunction::load(ctx, key, &ctx.dir.model_path(key), device)?.outputs(x)))
            .collect::<crate::Result<Vec<_>>>()?;
        outputs.insert(i, models);
    }
    let mut rows = Vec::new();
    for (k, i, j) in partners {
        let seeded = |w: usize| -> Vec<(u64, &[f32])> {
            finished[w].iter().map(|key| key.seed).zip(outputs[&w].iter().map(Vec::as_slice)).collect()
        };
        for (seed, metrics) in kw_metrics(k, &seeded(i), &seeded(j), labels, data.classes) {
            let wide_key = finished[j].iter().find(|k| k.seed == seed).expect("kW pairs wide seeds that finished");
            let epoch = plan.trained_epochs[wide_key];
            for metric in metrics {
                rows.push(probe_row(condition, widths[i], Some(seed), Phase::Trained, epoch, metric));
            }
        }
    }
    Ok(rows)
}

/// Writes a per-width file, then its seeds sidecar (last, so that a crash in between leaves it stale).
fn write_cross(sweep: &SweepDir, condition: &Condition, p: &Pending) -> crate::Result<()> {
    let path = sweep.width_probes_path(condition, p.width);
    sweep.write_probes(&path, &p.rows)?;
    sweep.write_seeds_record(&path, &p.seeds)?;
    Ok(())
}

/// Loads a run's weights file and observes the function it computes under the run's intervention on the
/// probe set `x`, within the default limits; the run's seed drives the Lanczos estimate where one is
/// needed.
fn observe_model(ctx: &SweepContext, key: &RunKey, file: &Path, x: &Tensor<2>, device: &Device) -> crate::Result<ModelView> {
    let function = RunFunction::load(ctx, key, file, device)?;
    Ok(ModelView::observe_function(&function.network, function.initial.as_ref(), x, &ProbeLimits::default(), key.seed))
}

/// One target after probing: what the cross-model probes keep, and its own probes when its run lacked them.
struct Observed {
    cross: CrossView,
    own: Option<Vec<Metric>>,
}

/// Observes every target (load weights, forward, Grams) and computes the own probes of the runs that
/// lack them, on `jobs` threads, one model per thread at a time: each thread drops its model's full
/// view before it takes the next, so the memory held grows with `jobs`, not with the targets.
fn probe_all(
    ctx: &SweepContext,
    work: &WidthWork,
    (x, labels): (&Tensor<2>, &[u32]),
    device: &Device,
    jobs: usize,
) -> crate::Result<Vec<Observed>> {
    let observe = |target: &Target| {
        observe_model(ctx, &target.key, &target.file, x, device).map(|view| {
            let own = work
                .per_run_missing
                .contains(&target.key)
                .then(|| probe_model(&view, labels, &ctx.spec().probe, target.key.seed));
            Observed { cross: view.cross(), own }
        })
    };
    for_each(work.targets.iter().collect(), Workers { jobs, own_cores: false }, None, observe)?
        .into_iter()
        .map(|observed| observed.expect("without a stop every target is observed"))
        .collect()
}

/// Probes one finished run's trained model exactly as [`probe_sweep`] does (load, observe, every
/// single-model probe) and returns its metrics, writing nothing: what `ddlab bench --probes` times.
pub fn probe_one_model(ctx: &SweepContext, key: &RunKey, device: &Device) -> crate::Result<Vec<Metric>> {
    let (sweep, spec) = (&ctx.dir, ctx.spec());
    let (x, labels) = probe_set(spec, &ctx.prepared[key.index], device);
    let view = observe_model(ctx, key, &sweep.model_path(key), &x, device)?;
    Ok(probe_model(&view, &labels, &spec.probe, key.seed))
}

/// Concatenates every per-run and per-width probe file into the sweep's probes.csv.
pub fn collect_probes(sweep: &SweepDir) -> crate::Result<usize> {
    let mut rows: Vec<ProbeRow> = Vec::new();
    for key in sweep.spec.runs() {
        let path = sweep.run_probes_path(&key);
        if path.exists() {
            rows.extend(sweep.read_probes(&path)?);
        }
    }
    for condition in &sweep.spec.conditions {
        let per_width = sweep.spec.model.widths.iter().map(|&width| sweep.width_probes_path(condition, width));
        for path in per_width.chain([sweep.kw_probes_path(condition)]) {
            if path.exists() {
                rows.extend(sweep.read_probes(&path)?);
            }
        }
    }
    // No NaN or inf reaches probes.csv, whatever an older file held.
    for row in &mut rows {
        let value = row.result();
        row.set(&value);
    }
    sweep.write_probes(&sweep.probes_csv(), &rows)?;
    Ok(rows.len())
}
