//! How close the Lanczos estimate of the unit Gram's effective rank comes to the exact value on real
//! models: `cargo run --release -p ddlab-sweep --example lanczos_accuracy -- SWEEP_DIR` takes every
//! finished run of a sweep (trained and at initialisation), computes the effective rank exactly (the
//! smaller side decomposed, however large) and by the default estimate, and prints both with the
//! estimate's standard error (docs/SCIENCE.md, Probes, Cost at any width).

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use ddlab_model::{Mlp, MlpShape};
use ddlab_probe::{ModelView, ProbeLimits, SpectrumMethod, UnitSpectrum, probe_set_indices};
use ddlab_store::SweepDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = PathBuf::from(std::env::args().nth(1).ok_or("usage: lanczos_accuracy SWEEP_DIR")?);
    let sweep = SweepDir::open(&folder)?;
    let data_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"));
    let prepared = ddlab_sweep::prepare_conditions(&sweep.spec, &data_dir)?;
    let device = Device::flex();
    println!(
        "| width | phase | exact | estimate | standard error | quadrature error bound | error / standard error | exact s | observe s (with the estimate) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for key in sweep.spec.runs() {
        let data = &prepared[key.index];
        let indices = probe_set_indices(&data.test.y, sweep.spec.probe.probe_set, sweep.spec.data_seed);
        let subset = data.test.select(&indices);
        let x = Tensor::<2>::from_data(TensorData::new(subset.x.clone(), [indices.len(), subset.dim]), &device);
        let shape = MlpShape { input: data.train.dim, width: key.width, depth: sweep.spec.model.depth, classes: data.classes };
        for (phase, path) in [("init", sweep.init_weights_path(&key)), ("trained", sweep.model_path(&key))] {
            let weights = Mlp::from_bytes(shape, std::fs::read(&path)?, &device)?.to_weights(shape);
            let exact_limits = ProbeLimits { exact_side: usize::MAX, spectrum: SpectrumMethod::Auto, ..ProbeLimits::default() };
            let clock = std::time::Instant::now();
            let exact = ModelView::observe_with(&weights, &x, &exact_limits, key.seed).unit_gram.effective_rank()?;
            let exact_s = clock.elapsed().as_secs_f64();
            let clock = std::time::Instant::now();
            let lanczos = ProbeLimits { spectrum: SpectrumMethod::Lanczos, ..ProbeLimits::default() };
            let view = ModelView::observe_with(&weights, &x, &lanczos, key.seed);
            let estimate_s = clock.elapsed().as_secs_f64(); // the whole observation, estimate included
            let Ok(UnitSpectrum::Estimated { effective_rank, standard_error, quadrature_error, .. }) = view.unit_gram.spectrum
            else {
                return Err("no estimate".into());
            };
            println!(
                "| {} | {phase} | {exact:.3} | {effective_rank:.3} | {standard_error:.3} | {quadrature_error:.3} | {:.2} | {exact_s:.1} | {estimate_s:.1} |",
                key.width,
                (effective_rank - exact) / standard_error
            );
        }
    }
    Ok(())
}
