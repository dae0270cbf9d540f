//! The data of every condition, and the record of its label noise.

use std::path::Path;

use anyhow::Context;
use ddlab_config::{DatasetSource, MIN_PROBE_INPUTS, Spec};
use ddlab_data::{Prepared, load_pools, prepare, split};
use ddlab_store::{SweepDir, write_atomic, write_csv_atomic};
use serde::Serialize;

/// Loads the dataset (shipped ones from `data_dir`) and prepares every condition (split, subset,
/// standardisation, noise).
pub fn prepare_conditions(spec: &Spec, data_dir: &Path) -> anyhow::Result<Vec<Prepared>> {
    let pools = load_pools(&spec.data.dataset, data_dir).context("loading the dataset")?;
    let split = split(pools, spec.data.n_test, spec.data_seed).with_context(|| dataset_name(&spec.data.dataset))?;
    if split.test.len() < MIN_PROBE_INPUTS {
        anyhow::bail!(
            "{}: the test set has {} example(s) but the probes need at least {MIN_PROBE_INPUTS}: give a larger dataset or test file (data.n_test)",
            dataset_name(&spec.data.dataset),
            split.test.len()
        );
    }
    spec.conditions
        .iter()
        .map(|c| {
            prepare(&split, *c, spec.data.standardize, spec.data_seed)
                .with_context(|| format!("preparing condition {}", c.label()))
        })
        .collect()
}

#[derive(Serialize)]
struct NoiseRow {
    index: usize,
    original: u32,
    noisy: u32,
}

/// data/<condition>/noise.csv: which training labels were flipped, from what to what.
pub fn write_noise_files(sweep: &SweepDir, prepared: &[Prepared]) -> anyhow::Result<()> {
    for (condition, data) in sweep.spec.conditions.iter().zip(prepared) {
        let rows: Vec<NoiseRow> = data
            .flipped
            .iter()
            .map(|&i| NoiseRow { index: i, original: data.clean_train_labels[i], noisy: data.train.y[i] })
            .collect();
        let path = sweep.condition_data_dir(condition).join("noise.csv");
        if rows.is_empty() {
            // csv writes no header for zero rows; keep the file self-describing.
            write_atomic(&path, b"index,original,noisy\n")?;
        } else {
            write_csv_atomic(&path, &rows)?;
        }
    }
    Ok(())
}

/// How an error names the dataset: the shipped name or the file.
fn dataset_name(source: &DatasetSource) -> String {
    match source {
        DatasetSource::Shipped { name } => format!("data.dataset = \"{name}\""),
        DatasetSource::File { train, test, .. } => match test {
            Some(test) => format!("{} and {}", train.features.display(), test.features.display()),
            None => train.features.display().to_string(),
        },
        DatasetSource::Teacher { .. } | DatasetSource::GaussianMixture { .. } => "data.pool".to_string(),
    }
}
