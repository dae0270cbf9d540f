//! From a source to the exact training and test sets of one condition: split, class-balanced subset,
//! standardisation from training statistics, label noise.

use std::path::Path;

use ddlab_config::{Condition, DatasetSource, FileFormat, Standardize};
use rand::RngExt;
use rand::seq::SliceRandom;

use crate::csv_file::load_csv;
use crate::dataset::{Dataset, Pools};
use crate::error::DataError;
use crate::idx::load_idx;
use crate::npy::load_npy;
use crate::rng::{seeded, stream};
use crate::synthetic;

/// Loads a source's pools. Shipped datasets are read from `data_dir`.
pub fn load_pools(source: &DatasetSource, data_dir: &Path) -> Result<Pools, DataError> {
    let csv = |name: &str| load_csv(&data_dir.join(name));
    Ok(match source {
        DatasetSource::Shipped { name } => match name.as_str() {
            "digits" => Pools { train: csv("digits.csv")?, test: None },
            "mnist1d" => Pools { train: csv("mnist1d-train.csv")?, test: Some(csv("mnist1d-test.csv")?) },
            "mnist1d-large" => Pools { train: csv("mnist1d-large-train.csv")?, test: Some(csv("mnist1d-large-test.csv")?) },
            "mnist10k" => Pools {
                train: load_idx(
                    &data_dir.join("mnist10k-images-idx3-ubyte.gz"),
                    &data_dir.join("mnist10k-labels-idx1-ubyte.gz"),
                )?,
                test: None,
            },
            other => return Err(DataError::Request(format!("unknown shipped dataset `{other}`"))),
        },
        DatasetSource::File { format, train, test } => {
            let load = |files: &ddlab_config::DataFiles| -> Result<Dataset, DataError> {
                match (format, &files.labels) {
                    (FileFormat::Csv, _) => load_csv(&files.features),
                    (FileFormat::Idx, Some(labels)) => load_idx(&files.features, labels),
                    (FileFormat::Npy, Some(labels)) => load_npy(&files.features, labels),
                    (_, None) => Err(DataError::format(&files.features, "a labels file is required for idx and npy")),
                }
            };
            let train_set = load(train)?;
            let test_set = test.as_ref().map(load).transpose()?;
            if let Some(t) = &test_set
                && t.dim != train_set.dim
            {
                return Err(DataError::format(
                    &test.as_ref().unwrap().features,
                    format!("test examples have {} features, training examples {}", t.dim, train_set.dim),
                ));
            }
            Pools { train: train_set, test: test_set }
        }
        DatasetSource::Teacher { pool, dim, classes, teacher_width, seed } => {
            Pools { train: synthetic::teacher(*pool, *dim, *classes, *teacher_width, *seed)?, test: None }
        }
        DatasetSource::GaussianMixture { pool, dim, classes, separation, seed } => {
            Pools { train: synthetic::gaussian_mixture(*pool, *dim, *classes, *separation, *seed)?, test: None }
        }
        DatasetSource::GaussianLinear { .. } => {
            return Err(DataError::Request(
                "gaussian_linear is regression: its sets come from `GaussianLinear`, not from class pools".into(),
            ));
        }
    })
}

/// `n` indices drawn class-balanced: classes take turns, each giving its next example in a seeded
/// shuffled order, until `n` are drawn (a class that runs out drops out of the rotation). The first `m`
/// of a draw of `n` are the draw of `m`, so smaller training sets are subsets of larger ones.
pub fn balanced_indices(labels: &[u32], n: usize, rng: &mut impl RngExt) -> Vec<usize> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(rng);
    let classes = labels.iter().max().map_or(0, |m| *m as usize + 1);
    let mut queues: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); classes];
    for i in order {
        queues[labels[i] as usize].push_back(i);
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let before = out.len();
        for queue in queues.iter_mut() {
            if out.len() == n {
                break;
            }
            if let Some(i) = queue.pop_front() {
                out.push(i);
            }
        }
        assert!(out.len() > before, "asked for more examples than the pool holds");
    }
    out
}

/// A source split into the training pool and the fixed test set shared by every condition.
#[derive(Clone, Debug)]
pub struct Split {
    pub train_pool: Dataset,
    pub test: Dataset,
    pub classes: usize,
}

/// Fixes the test set: `n_test` examples (class-balanced) of the test pool, or held out of a single
/// pool (default a third of it); all of a test file when `n_test` is `None`.
pub fn split(pools: Pools, n_test: Option<usize>, data_seed: u64) -> Result<Split, DataError> {
    let mut rng = seeded(data_seed, stream::SPLIT);
    let classes = pools.train.classes().max(pools.test.as_ref().map_or(0, Dataset::classes));
    if classes < 2 {
        return Err(DataError::Request(format!("the dataset has {classes} class(es); classification needs at least 2")));
    }
    let (train_pool, test) = match pools.test {
        Some(test_pool) => {
            let test = match n_test {
                None => test_pool,
                Some(n) if n > test_pool.len() => {
                    return Err(DataError::Request(format!(
                        "data.n_test = {n} but the test set has only {} examples",
                        test_pool.len()
                    )));
                }
                Some(n) => test_pool.select(&balanced_indices(&test_pool.y, n, &mut rng)),
            };
            (pools.train, test)
        }
        None => {
            let pool = pools.train;
            let n = n_test.unwrap_or(pool.len() / 3);
            if n >= pool.len() {
                return Err(DataError::Request(format!(
                    "data.n_test = {n} leaves no training examples: the dataset has {} examples and no separate test file",
                    pool.len()
                )));
            }
            let held_out = balanced_indices(&pool.y, n, &mut rng);
            let mut is_test = vec![false; pool.len()];
            held_out.iter().for_each(|&i| is_test[i] = true);
            let rest: Vec<usize> = (0..pool.len()).filter(|&i| !is_test[i]).collect();
            (pool.select(&rest), pool.select(&held_out))
        }
    };
    if test.is_empty() {
        return Err(DataError::Request("the test set is empty".into()));
    }
    Ok(Split { train_pool, test, classes })
}

/// One condition's data, ready to train on.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Standardised training examples with their (possibly noisy) training labels.
    pub train: Dataset,
    /// The true labels of the training examples.
    pub clean_train_labels: Vec<u32>,
    /// Indices (into `train`) whose label was flipped, ascending.
    pub flipped: Vec<usize>,
    /// Standardised test examples with clean labels.
    pub test: Dataset,
    pub classes: usize,
}

/// Draws the condition's training set from the split, standardises both sets with training statistics
/// and flips exactly round(p n) training labels to a uniformly drawn different class.
pub fn prepare(split: &Split, condition: Condition, standardize: Standardize, data_seed: u64) -> Result<Prepared, DataError> {
    let n = condition.n_train;
    if n > split.train_pool.len() {
        return Err(DataError::Request(format!(
            "data.n_train = {n} but the training pool has only {} examples",
            split.train_pool.len()
        )));
    }
    let mut train = split.train_pool.select(&balanced_indices(&split.train_pool.y, n, &mut seeded(data_seed, stream::SUBSET)));
    let mut test = split.test.clone();
    standardise(&mut train, &mut test, standardize);
    let clean_train_labels = train.y.clone();
    let flipped = flip_labels(&mut train.y, condition.flipped_count(), split.classes, data_seed);
    Ok(Prepared { train, clean_train_labels, flipped, test, classes: split.classes })
}

/// The share of the flipped training labels that a model predicts as given (the noisy label): how far it
/// memorised the noise (runs.csv `noisy_fit`). `predicts_given(i)`: the model's prediction of training
/// example i equals its (noisy) label. `None` without label noise.
pub fn noisy_fit(flipped: &[usize], predicts_given: impl Fn(usize) -> bool) -> Option<f64> {
    (!flipped.is_empty()).then(|| flipped.iter().filter(|&&i| predicts_given(i)).count() as f64 / flipped.len() as f64)
}

/// Replaces `count` labels, chosen uniformly without replacement, each by a uniformly drawn different
/// class. Returns the flipped indices, ascending.
pub fn flip_labels(labels: &mut [u32], count: usize, classes: usize, data_seed: u64) -> Vec<usize> {
    let mut rng = seeded(data_seed, stream::NOISE);
    let mut chosen = rand::seq::index::sample(&mut rng, labels.len(), count).into_vec();
    chosen.sort_unstable();
    for &i in &chosen {
        let shift = 1 + rng.random_range(0..classes as u32 - 1);
        labels[i] = (labels[i] + shift) % classes as u32;
    }
    chosen
}

fn standardise(train: &mut Dataset, test: &mut Dataset, how: Standardize) {
    let dim = train.dim;
    let n = train.len() as f64;
    let (means, stds): (Vec<f64>, Vec<f64>) = match how {
        Standardize::None => return,
        Standardize::Feature => (0..dim)
            .map(|j| {
                let mean = (0..train.len()).map(|i| train.x[i * dim + j] as f64).sum::<f64>() / n;
                let var = (0..train.len()).map(|i| (train.x[i * dim + j] as f64 - mean).powi(2)).sum::<f64>() / n;
                (mean, var.sqrt())
            })
            .unzip(),
        Standardize::Global => {
            let mean = train.x.iter().map(|&v| v as f64).sum::<f64>() / train.x.len() as f64;
            let var = train.x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / train.x.len() as f64;
            (vec![mean; dim], vec![var.sqrt(); dim])
        }
    };
    // A constant feature (std 0) is only centred: dividing would blow up any test value that differs.
    let scale: Vec<f64> = stds.iter().map(|&s| if s > 1e-12 { 1.0 / s } else { 1.0 }).collect();
    for set in [train, test] {
        for row in set.x.chunks_exact_mut(dim) {
            for j in 0..dim {
                row[j] = ((row[j] as f64 - means[j]) * scale[j]) as f32;
            }
        }
    }
}
