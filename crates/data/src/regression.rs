//! `gaussian_linear`: regression whose expected risk is known in closed form (docs/SCIENCE.md, Known
//! answers). x ~ N(0, I_dim), y = x . beta + e with beta_j = sqrt(signal / dim) for every j (so
//! |beta|^2 = signal and any p features carry signal * p / dim of it) and e ~ N(0, noise_variance).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::rng::stream;

/// Examples with real-valued targets, row-major `n x dim`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionSet {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub dim: usize,
}

impl RegressionSet {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// The generator of a `gaussian_linear` dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianLinear {
    pub dim: usize,
    pub signal: f64,
    pub noise_variance: f64,
}

impl GaussianLinear {
    /// beta_j = sqrt(signal / dim).
    pub fn beta(&self) -> f64 {
        (self.signal / self.dim as f64).sqrt()
    }

    /// `n` examples, row by row (features, then the row's noise), so that the first m rows of a draw of
    /// n > m are the draw of m: smaller training sets are subsets of larger ones.
    fn draw(&self, n: usize, rng: &mut ChaCha8Rng) -> RegressionSet {
        let beta = self.beta();
        let noise_sd = self.noise_variance.sqrt();
        let mut x = Vec::with_capacity(n * self.dim);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let mut target = 0.0;
            for _ in 0..self.dim {
                let v: f64 = rng.sample(StandardNormal);
                target += v * beta;
                x.push(v);
            }
            let e: f64 = rng.sample(StandardNormal);
            y.push(target + noise_sd * e);
        }
        RegressionSet { x, y, dim: self.dim }
    }

    /// The generator of one replicate's sets: keyed by (generator_seed, data_seed, replicate seed), so
    /// that replicates never share a draw.
    fn replicate_rng(generator_seed: u64, data_seed: u64, replicate_seed: u64, stream: u64) -> ChaCha8Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&generator_seed.to_le_bytes());
        key[8..16].copy_from_slice(&data_seed.to_le_bytes());
        key[16..24].copy_from_slice(&replicate_seed.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(stream);
        rng
    }

    /// The training set of one replicate: `n` examples of its own. The known answer is an expectation
    /// over training sets, so every replicate draws a fresh one.
    pub fn train_set(&self, n: usize, generator_seed: u64, data_seed: u64, replicate_seed: u64) -> RegressionSet {
        self.draw(n, &mut Self::replicate_rng(generator_seed, data_seed, replicate_seed, stream::REPLICATE_TRAIN))
    }

    /// The test set of one replicate: `n` examples of its own, independent of its training set. A test
    /// set shared by all replicates would add one common sampling error to every replicate's risk, which
    /// no spread over seeds reveals; drawn per replicate, it is part of that spread.
    pub fn test_set(&self, n: usize, generator_seed: u64, data_seed: u64, replicate_seed: u64) -> RegressionSet {
        self.draw(n, &mut Self::replicate_rng(generator_seed, data_seed, replicate_seed, stream::GENERATOR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_model_and_training_sets_nest_and_differ_by_replicate() {
        let g = GaussianLinear { dim: 4, signal: 2.0, noise_variance: 0.0 };
        let set = g.train_set(50, 0, 0, 1);
        for (row, y) in set.x.chunks_exact(4).zip(&set.y) {
            let fit: f64 = row.iter().map(|v| v * (0.5f64).sqrt()).sum();
            assert!((fit - y).abs() < 1e-12);
        }
        let small = g.train_set(20, 0, 0, 1);
        assert_eq!(small.x[..], set.x[..80]);
        assert_ne!(g.train_set(20, 0, 0, 2).x, small.x);
        assert_ne!(g.train_set(20, 0, 1, 1).x, small.x);
        assert_ne!(g.train_set(20, 1, 0, 1).x, small.x);
        assert_ne!(g.test_set(20, 0, 0, 1).x, small.x);
        // Variance of y is signal + noise: check on a large draw.
        let noisy = GaussianLinear { dim: 4, signal: 2.0, noise_variance: 0.5 };
        let big = noisy.test_set(200_000, 3, 0, 0);
        let var = big.y.iter().map(|y| y * y).sum::<f64>() / big.len() as f64;
        assert!((var - 2.5).abs() < 0.03, "{var}");
    }
}
