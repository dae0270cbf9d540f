//! The training loop for one packed group of runs: forward, loss, backward, step, then the hooks
//! (evaluation, checkpoint, snapshot, stop).

use std::time::Instant;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use ddlab_config::{Intervention, Loss, Optimizer, Parameterisation, TrainSpec};
use ddlab_model::{LayerFactors, MlpWeights, StackInput, StackLayer, StackLayout, StackParams, fused, rate_factors};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{RunState, RunStatus};
use crate::device_data::{DeviceData, DeviceSet, index_tensor};
use crate::optim::{OptimState, lr_at};
use ddlab_store::MetricsRow;

/// What the loop tells the outside world, and asks of it. The loop itself writes nothing.
pub trait Observer {
    /// A run was evaluated.
    fn evaluated(&mut self, _run: usize, _row: &MetricsRow) {}
    /// Every run of the group finished `epoch`.
    fn epoch_done(&mut self, _epoch: usize) {}
    /// Persist a run's state (periodic checkpoint, or before stopping on request).
    fn checkpoint(&mut self, run: usize, state: &RunState) -> Result<(), String>;
    /// Weights at a probe-schedule epoch.
    fn snapshot(&mut self, _run: usize, _epoch: usize, _weights: &MlpWeights) -> Result<(), String> {
        Ok(())
    }
    /// Checked after every epoch: true stops the group after checkpointing every run.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// How a group's training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupEnd {
    Finished,
    /// Stopped on request after checkpointing.
    Interrupted,
}

/// The per-model schedule knobs the loop needs beyond [`TrainSpec`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Hooks {
    /// Snapshot weights every this many epochs (0: never).
    pub snapshot_every: usize,
}

/// The order in which epoch `epoch` visits the training examples for replicate `seed`.
pub fn batch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(ddlab_config::streams::BATCH + epoch as u64);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// Per-example loss, `[M, 1, n]`, from outputs and targets `[M, classes, n]`: squared error summed over
/// classes, or cross-entropy.
pub fn per_example_loss(out: Tensor<3>, target: Tensor<3>, loss: Loss) -> Tensor<3> {
    match loss {
        Loss::Mse => (out - target).powi_scalar(2).sum_dim(1),
        Loss::Ce => (log_softmax(out, 1) * target).sum_dim(1).neg(),
    }
}

/// d(sum over models of the mean loss) / d output, `[M, classes, n]`: each model's own mean-loss gradient.
pub fn loss_gradient(out: Tensor<3>, target: Tensor<3>, loss: Loss) -> Tensor<3> {
    match loss {
        Loss::Mse => fused::difference_times_two_over_n(out, &target),
        Loss::Ce => fused::softmax_minus_target(out, &target),
    }
}

/// How a pack's network outputs g become the functions it trains (docs/SCIENCE.md, Models, data and
/// training: interventions): f = alpha (g - g_0) when centred, else alpha g, on the loss / alpha^2.
/// The plain network computes nothing extra.
///
/// g_0 is computed again on every batch, by the same forward pass on the same input as g, rather than
/// once and gathered: then f is exactly 0 at initialisation in every packing. Otherwise f would be
/// rounding noise there, and Adam, whose first step has the size of the learning rate whatever the
/// gradient's, turns noise in a gradient that is exactly 0 (a class's readout weight from a unit active
/// on no example of that class) into a step. The price is one more forward pass per step.
///
/// A parameterisation other than standard gives each model's layers their own learning-rate factors
/// (`rates`, tensors `[M, 1, 1]`); its initial weights were drawn scaled already (the runs' states).
struct Function {
    scale: f64,
    /// The initial networks, when centred.
    initial: Option<StackParams>,
    /// Per-model, per-tensor learning-rate factors, when the parameterisation is not standard.
    rates: Option<StackParams>,
}

impl Function {
    fn new(
        intervention: Intervention,
        optimizer: Optimizer,
        layout: &StackLayout,
        initial: &[MlpWeights],
        device: &Device,
    ) -> Result<Self, String> {
        let rates = match (intervention.parameterisation, intervention.base_width) {
            (p, _) if p.is_standard() => None,
            (p, None) => return Err(format!("parameterisation {} needs a base width", p.name())),
            (p, Some(base)) => Some(rate_tensors(p, optimizer, layout, base, device)),
        };
        let initial = match intervention.centred {
            false => None,
            true if initial.len() != layout.models() => {
                return Err(format!(
                    "a centred pack of {} runs needs each run's initial weights, got {}",
                    layout.models(),
                    initial.len()
                ));
            }
            true => Some(layout.pack(initial, device)),
        };
        Ok(Function { scale: intervention.output_scale, initial, rates })
    }

    /// f from the networks' outputs g on `input`.
    fn of(&self, layout: &StackLayout, g: Tensor<3>, input: StackInput) -> Tensor<3> {
        let f = match &self.initial {
            Some(initial) => g - layout.forward(initial, input),
            None => g,
        };
        if self.scale == 1.0 { f } else { f.mul_scalar(self.scale) }
    }

    /// d (l(f) / alpha^2) / d g = (1 / alpha) d l / d f.
    fn network_gradient(&self, grad_f: Tensor<3>) -> Tensor<3> {
        if self.scale == 1.0 { grad_f } else { grad_f.div_scalar(self.scale) }
    }

    /// The learning rate: Adam's step does not shrink with the gradient, so it is divided by alpha to
    /// move the weights by O(1 / alpha) as gradient descent on l(f) / alpha^2 does.
    fn learning_rate(&self, lr: f64, optimizer: Optimizer) -> f64 {
        match optimizer {
            Optimizer::Adam { .. } if self.scale != 1.0 => lr / self.scale,
            _ => lr,
        }
    }
}

/// A parameterisation's learning-rate factors for every model of a pack, in the form of its parameters:
/// per layer, weights and biases each a `[M, 1, 1]` tensor (the models may differ in width).
fn rate_tensors(
    parameterisation: Parameterisation,
    optimizer: Optimizer,
    layout: &StackLayout,
    base_width: usize,
    device: &Device,
) -> StackParams {
    let per_model: Vec<Vec<LayerFactors>> =
        layout.shapes.iter().map(|shape| rate_factors(parameterisation, optimizer, *shape, base_width)).collect();
    let m = layout.models();
    let column = |values: Vec<f32>| Tensor::<1>::from_floats(values.as_slice(), device).reshape([m, 1, 1]);
    let layers = (0..per_model[0].len())
        .map(|l| StackLayer {
            w: column(per_model.iter().map(|f| f[l].weights as f32).collect()),
            b: column(per_model.iter().map(|f| f[l].biases as f32).collect()),
        })
        .collect();
    StackParams { layers }
}

/// Loss and error of every model's function on a whole set, in chunks so that wide stacks fit in memory.
/// Returns per model `(mean loss, error, predictions)`.
fn evaluate(
    layout: &StackLayout,
    params: &StackParams,
    set: &DeviceSet,
    loss: Loss,
    function: &Function,
) -> Vec<(f64, f64, Vec<u32>)> {
    let m = layout.models();
    let n = set.len();
    let chunk = (1 << 22) / (m * layout.padded_width).max(1);
    let chunk = chunk.clamp(256, n.max(256));
    let mut loss_sums = vec![0f64; m];
    let mut preds: Vec<Vec<u32>> = vec![Vec::with_capacity(n); m];
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let x = set.x.clone().narrow(0, start, len);
        let target = set.onehot.clone().narrow(1, start, len).unsqueeze_dim(0);
        let g = layout.forward(params, StackInput::Shared(x.clone()));
        let out = function.of(layout, g, StackInput::Shared(x));
        let sums = ddlab_model::host_f32(per_example_loss(out.clone(), target, loss).sum_dim(2));
        for (j, s) in sums.iter().enumerate() {
            loss_sums[j] += *s as f64;
        }
        let argmax = out.argmax(1).into_data().try_into_vec_as::<i64>().expect("integer argmax");
        for j in 0..m {
            preds[j].extend(argmax[j * len..(j + 1) * len].iter().map(|&k| k as u32));
        }
        start += len;
    }
    (0..m)
        .map(|j| {
            let wrong = preds[j].iter().zip(&set.labels).filter(|(p, y)| p != y).count();
            (loss_sums[j] / n as f64, wrong as f64 / n as f64, std::mem::take(&mut preds[j]))
        })
        .collect()
}

/// Trains a group of runs, packed, from their current states to `spec.epochs`.
///
/// All runs must be at the same epoch with the same optimiser step (the scheduler groups them so).
/// Runs that share a seed share their batch order, so a mini-batch is one gather for all of them;
/// runs with different seeds get a batch each. A run that diverges stops recording metrics but stays in
/// the pack (its parameters touch no other run's), so that the pack, and with it every other run's
/// floating-point arithmetic, is the same whether the group trains straight through or is resumed.
///
/// `initial` holds each run's initial weights (what init.bpk holds) when the spec's intervention centres
/// the networks, and may be empty otherwise.
pub fn train_group(
    spec: &TrainSpec,
    hooks: Hooks,
    data: &DeviceData,
    mut runs: Vec<RunState>,
    initial: &[MlpWeights],
    observer: &mut dyn Observer,
) -> Result<(Vec<RunState>, GroupEnd), crate::TrainError> {
    let device: &Device = &data.device;
    let start_epoch = runs[0].epoch;
    if runs.iter().any(|r| r.epoch != start_epoch || r.optim_step != runs[0].optim_step) {
        return Err(crate::TrainError::Fit("runs of one group must be at the same epoch".into()));
    }
    let layout = StackLayout::new(runs.iter().map(|r| r.weights.shape).collect());
    let weights: Vec<MlpWeights> = runs.iter().map(|r| r.weights.clone()).collect();
    let mut params = layout.pack(&weights, device);
    let moment_count = OptimState::moment_count(spec.optimizer);
    let moments = (0..moment_count)
        .map(|k| {
            let per_run: Vec<MlpWeights> =
                runs.iter().map(|r| r.moments.get(k).cloned().unwrap_or_else(|| zeros_like(&r.weights))).collect();
            layout.pack(&per_run, device)
        })
        .collect();
    let mut optim = OptimState { kind: spec.optimizer, moments, step: runs[0].optim_step };
    let function = Function::new(spec.intervention, spec.optimizer, &layout, initial, device).map_err(crate::TrainError::Fit)?;
    let n = data.train.len();
    let shared_order = runs.iter().all(|r| r.seed == runs[0].seed);
    let clock = Instant::now();
    let seconds_before: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
    let mut last_preds: Vec<Vec<u32>> = vec![Vec::new(); runs.len()];

    let snapshot =
        |runs: &[RunState], params: &StackParams, epoch: usize, observer: &mut dyn Observer| -> Result<(), crate::TrainError> {
            let current = layout.unpack(params);
            for (j, w) in current.iter().enumerate() {
                if runs[j].status == RunStatus::Running {
                    observer.snapshot(j, epoch, w).map_err(crate::TrainError::Observer)?;
                }
            }
            Ok(())
        };

    for epoch in start_epoch + 1..=spec.epochs {
        let lr = function.learning_rate(lr_at(spec.lr, spec.lr_decay, epoch), spec.optimizer);
        for (input, target) in batches(spec.batch_size, n, &runs, shared_order, epoch, data) {
            // Forward, loss gradient, backward, step.
            let (g, tape) = layout.forward_train(&params, input.clone());
            let grad_f = loss_gradient(function.of(&layout, g, input), target, spec.loss);
            let grads = layout.backward(&params, tape, function.network_gradient(grad_f));
            optim.update(&mut params, grads, lr, function.rates.as_ref());
        }

        // Hooks: evaluation, checkpoint, snapshot, stop.
        let last = epoch == spec.epochs;
        let elapsed = clock.elapsed().as_secs_f64();
        if epoch % spec.eval_every == 0 || last {
            let train = evaluate(&layout, &params, &data.train, spec.loss, &function);
            let test = evaluate(&layout, &params, &data.test, spec.loss, &function);
            for (j, run) in runs.iter_mut().enumerate() {
                if run.status != RunStatus::Running {
                    continue;
                }
                let row = MetricsRow {
                    epoch,
                    train_loss: train[j].0,
                    train_err: train[j].1,
                    test_loss: test[j].0,
                    test_err: test[j].1,
                    seconds: seconds_before[j] + elapsed,
                };
                if !row.train_loss.is_finite() {
                    run.status =
                        RunStatus::Diverged { reason: format!("training loss became {} at epoch {epoch}", row.train_loss) };
                }
                observer.evaluated(j, &row);
                run.metrics.push(row);
                last_preds[j] = train[j].2.clone();
            }
        }
        for (j, run) in runs.iter_mut().enumerate() {
            run.epoch = epoch;
            run.seconds = seconds_before[j] + elapsed;
        }
        observer.epoch_done(epoch);
        if hooks.snapshot_every > 0 && epoch % hooks.snapshot_every == 0 && !last {
            snapshot(&runs, &params, epoch, observer)?;
        }
        let stop = observer.stop_requested();
        let periodic = spec.checkpoint_every > 0 && epoch % spec.checkpoint_every == 0 && !last;
        if stop || periodic {
            sync_states(&layout, &params, &optim, &mut runs);
            for (j, run) in runs.iter().enumerate() {
                observer.checkpoint(j, run).map_err(crate::TrainError::Observer)?;
            }
        }
        if stop && !last {
            return Ok((runs, GroupEnd::Interrupted));
        }
        if runs.iter().all(|r| r.status != RunStatus::Running) {
            break;
        }
    }
    sync_states(&layout, &params, &optim, &mut runs);
    for (j, state) in runs.iter_mut().enumerate() {
        if state.status == RunStatus::Running {
            state.status = RunStatus::Done;
            state.noisy_fit = ddlab_data::noisy_fit(&data.flipped, |i| last_preds[j].get(i) == Some(&data.train.labels[i]));
        }
    }
    Ok((runs, GroupEnd::Finished))
}

/// Copies the packed weights and optimiser moments back into the runs.
fn sync_states(layout: &StackLayout, params: &StackParams, optim: &OptimState, runs: &mut [RunState]) {
    let weights = layout.unpack(params);
    let moments: Vec<Vec<MlpWeights>> = optim.moments.iter().map(|m| layout.unpack(m)).collect();
    for (j, run) in runs.iter_mut().enumerate() {
        run.weights = weights[j].clone();
        run.moments = moments.iter().map(|m| m[j].clone()).collect();
        run.optim_step = optim.step;
    }
}

fn zeros_like(weights: &MlpWeights) -> MlpWeights {
    let mut zero = weights.clone();
    for layer in &mut zero.layers {
        layer.w.iter_mut().for_each(|v| *v = 0.0);
        layer.b.iter_mut().for_each(|v| *v = 0.0);
    }
    zero
}

/// The epoch's batches as (input, target) pairs.
fn batches(
    batch_size: Option<usize>,
    n: usize,
    runs: &[RunState],
    shared_order: bool,
    epoch: usize,
    data: &DeviceData,
) -> Vec<(StackInput, Tensor<3>)> {
    let device = &data.device;
    let Some(size) = batch_size.filter(|&b| b < n) else {
        return vec![(StackInput::Shared(data.train.x.clone()), data.train.onehot.clone().unsqueeze_dim(0))];
    };
    if shared_order {
        let order = batch_order(n, runs[0].seed, epoch);
        return order
            .chunks(size)
            .map(|chunk| {
                let idx = index_tensor(chunk, device);
                (
                    StackInput::Shared(data.train.x.clone().select(0, idx.clone())),
                    data.train.onehot.clone().select(1, idx).unsqueeze_dim(0),
                )
            })
            .collect();
    }
    let orders: Vec<Vec<usize>> = runs.iter().map(|r| batch_order(n, r.seed, epoch)).collect();
    let m = runs.len();
    (0..n.div_ceil(size))
        .map(|b| {
            let range = b * size..((b + 1) * size).min(n);
            let len = range.len();
            let joined: Vec<usize> = orders.iter().flat_map(|o| o[range.clone()].iter().copied()).collect();
            let idx = index_tensor(&joined, device);
            let x = data.train.x.clone().select(0, idx.clone()).reshape([m, len, data.dim]);
            let t = data.train.onehot.clone().select(1, idx).reshape([data.classes, m, len]).swap_dims(0, 1);
            (StackInput::PerModel(x), t)
        })
        .collect()
}

/// Optimiser kind check used by resume: a checkpoint's moment count must match the optimiser.
pub fn moments_match(optimizer: Optimizer, state: &RunState) -> bool {
    state.moments.is_empty() || state.moments.len() == OptimState::moment_count(optimizer)
}
