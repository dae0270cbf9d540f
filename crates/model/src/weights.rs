//! Host-side weights: the canonical form of a model for initialisation, checkpoints and probes.
//! Initialisation draws from our own seeded stream (not Burn's lazy initialisers), so a model's initial
//! weights depend only on (shape, init, seed) and are the same whether it trains alone or packed.

use ddlab_config::Init;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Input -> `depth` hidden ReLU layers of `width` -> `classes` outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MlpShape {
    pub input: usize,
    pub width: usize,
    pub depth: usize,
    pub classes: usize,
}

impl MlpShape {
    /// `(fan_in, fan_out)` of every layer, input first.
    pub fn layer_dims(&self) -> Vec<(usize, usize)> {
        let mut dims = vec![(self.input, self.width)];
        dims.extend((1..self.depth).map(|_| (self.width, self.width)));
        dims.push((self.width, self.classes));
        dims
    }

    /// Trainable parameters.
    pub fn params(&self) -> usize {
        self.layer_dims().iter().map(|(i, o)| (i + 1) * o).sum()
    }

    /// Multiply-adds of one forward pass per example, times 2 (FLOPs).
    pub fn forward_flops_per_example(&self) -> usize {
        self.layer_dims().iter().map(|(i, o)| 2 * i * o).sum()
    }
}

/// One dense layer: `w` is `fan_in x fan_out`, row-major (`w[i * fan_out + j]` connects input i to
/// output j), as Burn's `Linear` stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub fan_in: usize,
    pub fan_out: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// All layers of one MLP, input layer first, readout last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpWeights {
    pub shape: MlpShape,
    pub layers: Vec<Layer>,
}

impl MlpWeights {
    /// Draws initial weights for `shape` from `seed`.
    pub fn init(shape: MlpShape, init: Init, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(ddlab_config::streams::INIT);
        let layers = shape
            .layer_dims()
            .into_iter()
            .map(|(fan_in, fan_out)| {
                let bound = 1.0 / (fan_in as f64).sqrt();
                let (w, b) = match init {
                    Init::KaimingUniform => {
                        let mut draw =
                            |count: usize| -> Vec<f32> { (0..count).map(|_| rng.random_range(-bound..bound) as f32).collect() };
                        let w = draw(fan_in * fan_out);
                        (w, draw(fan_out))
                    }
                    Init::HeNormal => {
                        let std = (2.0 / fan_in as f64).sqrt();
                        let w = (0..fan_in * fan_out).map(|_| (rng.sample::<f64, _>(StandardNormal) * std) as f32).collect();
                        (w, vec![0.0; fan_out])
                    }
                    Init::HeUniform => {
                        let bound = (6.0 / fan_in as f64).sqrt();
                        let w = (0..fan_in * fan_out).map(|_| rng.random_range(-bound..bound) as f32).collect();
                        (w, vec![0.0; fan_out])
                    }
                };
                Layer { fan_in, fan_out, w, b }
            })
            .collect();
        MlpWeights { shape, layers }
    }

    /// These trained weights embedded in a wider network of `shape` (same input, depth and classes), as
    /// the start of its training under `model.weight_reuse`: every existing weight and bias keeps its
    /// place (unit i stays unit i), new weights are drawn from N(0, 0.01) on stream `REUSE + width` of
    /// `seed`, new biases are 0. Belkin et al. 2019 grow their networks this way below the threshold.
    pub fn grown(&self, shape: MlpShape, seed: u64) -> MlpWeights {
        let from = self.shape;
        assert!(
            shape.input == from.input && shape.depth == from.depth && shape.classes == from.classes && shape.width >= from.width,
            "a network grows only in width"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(ddlab_config::streams::REUSE + shape.width as u64);
        let layers = shape
            .layer_dims()
            .into_iter()
            .zip(&self.layers)
            .map(|((fan_in, fan_out), old)| {
                let mut w = Vec::with_capacity(fan_in * fan_out);
                for i in 0..fan_in {
                    for o in 0..fan_out {
                        w.push(if i < old.fan_in && o < old.fan_out {
                            old.w[i * old.fan_out + o]
                        } else {
                            (rng.sample::<f64, _>(StandardNormal) * 0.1) as f32
                        });
                    }
                }
                let b = (0..fan_out).map(|o| old.b.get(o).copied().unwrap_or(0.0)).collect();
                Layer { fan_in, fan_out, w, b }
            })
            .collect();
        MlpWeights { shape, layers }
    }

    /// All values, layer by layer (weights then bias), for checksums and comparisons.
    pub fn flat(&self) -> Vec<f32> {
        self.layers.iter().flat_map(|l| l.w.iter().chain(&l.b).copied()).collect()
    }

    /// Largest absolute difference to `other` (same shape).
    pub fn max_abs_diff(&self, other: &MlpWeights) -> f32 {
        self.flat().iter().zip(other.flat()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    /// The same network with its readout (weights and bias) multiplied by `alpha`: alpha g, the
    /// function of an output scale (docs/SCIENCE.md, Models, data and training: interventions). With
    /// alpha = 1 the weights are returned unchanged, bit for bit.
    pub fn with_output_scale(&self, alpha: f64) -> MlpWeights {
        let mut scaled = self.clone();
        if alpha != 1.0 {
            let last = scaled.layers.last_mut().expect("an MLP has a readout");
            let a = alpha as f32;
            last.w.iter_mut().chain(last.b.iter_mut()).for_each(|v| *v *= a);
        }
        scaled
    }

    /// The last hidden layer's readout as `(V, c)` with V `classes x width` row-major, as docs/SCIENCE.md, Probes writes
    /// it (f = V a + c).
    pub fn readout(&self) -> (Vec<f32>, Vec<f32>) {
        let last = self.layers.last().expect("an MLP has a readout");
        let mut v = vec![0.0; last.fan_in * last.fan_out];
        for i in 0..last.fan_in {
            for k in 0..last.fan_out {
                v[k * last.fan_in + i] = last.w[i * last.fan_out + k];
            }
        }
        (v, last.b.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_keeps_every_trained_weight_in_place_and_draws_the_rest_from_n_0_0_01() {
        let small = MlpShape { input: 300, width: 3, depth: 2, classes: 4 };
        let big = MlpShape { width: 200, ..small };
        let trained = MlpWeights::init(small, Init::KaimingUniform, 7);
        let grown = trained.grown(big, 7);
        assert_eq!(grown.shape, big);
        let mut new = Vec::new();
        for (old, layer) in trained.layers.iter().zip(&grown.layers) {
            for i in 0..layer.fan_in {
                for o in 0..layer.fan_out {
                    let value = layer.w[i * layer.fan_out + o];
                    if i < old.fan_in && o < old.fan_out {
                        assert_eq!(value, old.w[i * old.fan_out + o], "weight ({i}, {o}) moved");
                    } else {
                        new.push(value as f64);
                    }
                }
            }
            assert_eq!(&layer.b[..old.fan_out], &old.b[..]);
            assert!(layer.b[old.fan_out..].iter().all(|b| *b == 0.0), "new biases start at 0");
        }
        // Every entry outside the old blocks is new: counted exactly.
        let old_weights: usize = small.layer_dims().iter().map(|(i, o)| i * o).sum();
        let big_weights: usize = big.layer_dims().iter().map(|(i, o)| i * o).sum();
        assert_eq!(new.len(), big_weights - old_weights);
        let mean = new.iter().sum::<f64>() / new.len() as f64;
        let var = new.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / new.len() as f64;
        // ~100 000 draws: the sample variance is within 1% of 0.01 (its standard error is 0.45%).
        assert!(mean.abs() < 1e-3 && (var - 0.01).abs() < 1e-4, "mean {mean}, variance {var}");
        assert_eq!(grown, trained.grown(big, 7), "growing is deterministic");
        assert_ne!(grown, trained.grown(big, 8), "the seed draws the new weights");
        assert_eq!(trained.grown(small, 7), trained, "growing to the same width changes nothing");
    }
}
