//! Fitting the unfinished runs of a closed-form sweep (`model.kind = "linear"` or `"random_features"`):
//! no training loop, so no packs and no checkpoints; each run is fitted whole under its lock and written
//! like a trained run (metrics.csv with one row at epoch 0, run.json, then DONE; random features also
//! leave init.bpk and model.bpk, which the probes read like any MLP's).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::Device;
use ddlab_config::{DatasetSource, RunKey, Spec};
use ddlab_data::{GaussianLinear, Prepared};
use ddlab_model::{Mlp, MlpWeights};
use ddlab_store::{MetricsRow, RunOutcome, RunPhase, RunRecord, SweepDir};
use ddlab_train::{Scores, argmax, fit_closed_form, score_classes, score_values};

use crate::context::SweepContext;
use crate::plan::Triage;
use crate::pool::{Workers, for_each};
use crate::progress::Mode;
use crate::train_runs::{Ending, TrainOptions, TrainOutcome, run_summary, start};

/// The data a closed-form sweep fits: each condition's prepared classes, or the generator of a
/// regression dataset (each replicate draws its own training and test sets).
pub enum FitData<'a> {
    Classes(&'a [Prepared]),
    Regression { generator: GaussianLinear, n_test: usize, generator_seed: u64 },
}

impl<'a> FitData<'a> {
    /// The fit data of `spec`: `prepared` for classes, the generator for gaussian_linear.
    pub fn new(spec: &Spec, prepared: &'a [Prepared]) -> Self {
        match spec.data.dataset {
            DatasetSource::GaussianLinear { pool, dim, signal, noise_variance, seed } => FitData::Regression {
                generator: GaussianLinear { dim, signal, noise_variance },
                n_test: spec.data.n_test.unwrap_or(pool).min(pool),
                generator_seed: seed,
            },
            _ => FitData::Classes(prepared),
        }
    }
}

/// What one fit measured.
struct Fitted {
    train: Scores,
    test: Scores,
    noisy_fit: Option<f64>,
    network: Option<(MlpWeights, MlpWeights)>,
    seconds: f64,
}

fn fit_run(spec: &Spec, data: &FitData, key: &RunKey) -> crate::Result<Fitted> {
    let start = Instant::now();
    let widen = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let m = &spec.model;
    match data {
        FitData::Classes(prepared) => {
            let p = &prepared[key.index];
            let k = p.classes;
            let mut targets = vec![0.0; p.train.len() * k];
            for (i, &label) in p.train.y.iter().enumerate() {
                targets[i * k + label as usize] = 1.0;
            }
            let fit = fit_closed_form(
                m.kind,
                key.width,
                m.ridge,
                m.init,
                key.seed,
                &widen(&p.train.x),
                &targets,
                k,
                &widen(&p.test.x),
                p.train.dim,
            )?;
            let train = score_classes(&fit.train_outputs, k, &p.train.y);
            let test = score_classes(&fit.test_outputs, k, &p.test.y);
            let noisy_fit =
                ddlab_data::noisy_fit(&p.flipped, |i| argmax(&fit.train_outputs[i * k..(i + 1) * k]) == p.train.y[i] as usize);
            let network = fit.network.map(|trained| {
                let init = MlpWeights::init(trained.shape, m.init, key.seed);
                (init, trained)
            });
            Ok(Fitted { train, test, noisy_fit, network, seconds: start.elapsed().as_secs_f64() })
        }
        FitData::Regression { generator, n_test, generator_seed } => {
            let condition = spec.condition_of(key);
            let data_seed = spec.data_seed_for(condition);
            let set = generator.train_set(condition.n_train, *generator_seed, data_seed, key.seed);
            let test = generator.test_set(*n_test, *generator_seed, data_seed, key.seed);
            let fit = fit_closed_form(m.kind, key.width, m.ridge, m.init, key.seed, &set.x, &set.y, 1, &test.x, set.dim)?;
            let network = fit.network.map(|trained| (MlpWeights::init(trained.shape, m.init, key.seed), trained));
            Ok(Fitted {
                train: score_values(&fit.train_outputs, &set.y),
                test: score_values(&fit.test_outputs, &test.y),
                noisy_fit: None,
                network,
                seconds: start.elapsed().as_secs_f64(),
            })
        }
    }
}

/// Writes a fitted run: init.bpk and model.bpk (random features), metrics.csv, run.json, then DONE.
fn write_fit(sweep: &SweepDir, device: &Device, key: &RunKey, fitted: &Fitted, outputs: usize) -> crate::Result<()> {
    if let Some((init, trained)) = &fitted.network {
        sweep.write_weights(&sweep.init_weights_path(key), &Mlp::from_weights(init, device).to_bytes()?)?;
        sweep.write_weights(&sweep.model_path(key), &Mlp::from_weights(trained, device).to_bytes()?)?;
    }
    let row = MetricsRow {
        epoch: 0,
        train_loss: fitted.train.loss,
        train_err: fitted.train.err,
        test_loss: fitted.test.loss,
        test_err: fitted.test.err,
        seconds: fitted.seconds,
    };
    sweep.write_metrics(key, std::slice::from_ref(&row))?;
    // The linear model has no hidden layer; random features have one (frozen). Fitted parameters: the
    // readout's p x outputs (no bias).
    let depth = usize::from(sweep.spec.model.kind == ddlab_config::ModelKind::RandomFeatures);
    let summary = run_summary(
        &sweep.spec,
        key,
        (depth, key.width * outputs),
        Some(&row),
        fitted.noisy_fit,
        Ending { status: RunOutcome::Done, reason: None, epochs: 0, seconds: fitted.seconds },
    );
    sweep.finish_run(key, &RunRecord { summary })?;
    Ok(())
}

/// Fits every unfinished run of `runs` on `options.jobs` worker threads, widest first (with
/// `options.retry_failed`, the failed ones too; packing does not apply).
pub fn fit_sweep(
    ctx: &SweepContext,
    data: &FitData,
    device: &Device,
    runs: &[RunKey],
    options: TrainOptions,
    mode: Mode,
    stop: &AtomicBool,
) -> crate::Result<TrainOutcome> {
    let sweep = &ctx.dir;
    let (Triage { mut todo, done, failed }, _, progress) = start(ctx, runs, runs, options.retry_failed, "fits", mode)?;
    todo.sort_by_key(|k| std::cmp::Reverse(k.width));
    if !todo.is_empty() {
        progress.line(&format!("{} runs to fit in closed form ({done} finished already)", todo.len()));
    }
    let outputs = match data {
        FitData::Classes(p) => p.first().map_or(1, |p| p.classes),
        FitData::Regression { .. } => 1,
    };
    let fit_one = |key: RunKey| -> TrainOutcome {
        let mut result = TrainOutcome::default();
        let lock = match sweep.try_lock(&key) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                result.busy += 1;
                return result;
            }
            Err(e) => {
                progress.line(&format!("error: {e}"));
                result.failed += 1;
                return result;
            }
        };
        // Another process may have finished it between the plan and the lock; a record that cannot
        // be read is reported, not fitted over.
        match sweep.phase(&key) {
            Ok(RunPhase::Finished(_)) => return result,
            Ok(_) => {}
            Err(e) => {
                progress.line(&format!("error: {e}"));
                result.failed += 1;
                return result;
            }
        }
        match fit_run(ctx.spec(), data, &key).and_then(|fitted| write_fit(sweep, device, &key, &fitted, outputs).map(|()| fitted))
        {
            Ok(fitted) => {
                result.trained += 1;
                progress.line(&format!(
                    "{}: fitted, train_err {:.4}, test_err {:.4} ({:.1} s)",
                    ctx.spec().run_name(&key),
                    fitted.train.err,
                    fitted.test.err,
                    fitted.seconds
                ));
            }
            Err(e) => {
                result.failed += 1;
                progress.line(&format!("{}: failed: {e:#}", ctx.spec().run_name(&key)));
                let _ = sweep.fail_run(&key, &format!("{e:#}"));
            }
        }
        progress.run_finished(1);
        drop(lock);
        result
    };
    let mut outcome = TrainOutcome { failed: failed.len(), ..Default::default() };
    for result in for_each(todo, Workers { jobs: options.jobs, own_cores: false }, Some(stop), fit_one)?.iter().flatten() {
        outcome.add(result);
    }
    progress.finish();
    outcome.interrupted |= stop.load(Ordering::Relaxed);
    Ok(outcome)
}
