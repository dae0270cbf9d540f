//! Parameterisations in effective weights: how a network's initial weights and per-layer learning rates
//! scale with its width W relative to a base width W0 (docs/SCIENCE.md, Models, data and training:
//! parameterisations, whose table this module is). Every factor is relative to the standard
//! parameterisation, which is 1 everywhere, so standard training computes nothing differently.

use ddlab_config::{Init, Optimizer, Parameterisation};

use crate::weights::{MlpShape, MlpWeights};

/// Which of a layer's tensors a factor is for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerFactors {
    pub weights: f64,
    pub biases: f64,
}

/// Where a layer sits: its fan-in and fan-out decide how it scales with the width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// From the input (fan-in d, fan-out W).
    Input,
    /// Width to width (depth >= 2).
    Hidden,
    /// Width to the classes.
    Readout,
}

fn places(shape: MlpShape) -> Vec<Place> {
    let mut out = vec![Place::Input];
    out.extend((1..shape.depth).map(|_| Place::Hidden));
    out.push(Place::Readout);
    out
}

/// r = W / W0.
fn ratio(shape: MlpShape, base_width: usize) -> f64 {
    shape.width as f64 / base_width as f64
}

/// The factor on each layer's initial weights' scale (the biases keep theirs), input layer first.
pub fn init_factors(parameterisation: Parameterisation, shape: MlpShape, base_width: usize) -> Vec<f64> {
    let r = ratio(shape, base_width);
    places(shape)
        .into_iter()
        .map(|place| match (parameterisation, place) {
            (Parameterisation::MeanField, Place::Readout) => r.powf(-0.5),
            _ => 1.0,
        })
        .collect()
}

/// The factor on each layer's learning rate, for its weights and its biases, input layer first.
pub fn rate_factors(
    parameterisation: Parameterisation,
    optimizer: Optimizer,
    shape: MlpShape,
    base_width: usize,
) -> Vec<LayerFactors> {
    let r = ratio(shape, base_width);
    let adam = matches!(optimizer, Optimizer::Adam { .. });
    places(shape)
        .into_iter()
        .map(|place| {
            let (weights, biases) = match (parameterisation, place, adam) {
                (Parameterisation::Standard, _, _) => (1.0, 1.0),
                // A multiplier m = r^-1/2 on weights of fan-in W: SGD's rate times m^2, Adam's times m.
                (Parameterisation::Ntk, Place::Input, _) => (1.0, 1.0),
                (Parameterisation::Ntk, _, false) => (1.0 / r, 1.0),
                (Parameterisation::Ntk, _, true) => (r.powf(-0.5), 1.0),
                // muP (Yang et al. 2022, Table 3): SGD's rate times fan-out for input weights and biases,
                // over fan-in for the readout; Adam's over fan-in for hidden and readout weights.
                (Parameterisation::MeanField, Place::Input, false) => (r, r),
                (Parameterisation::MeanField, Place::Hidden, false) => (1.0, r),
                (Parameterisation::MeanField, Place::Readout, false) => (1.0 / r, 1.0),
                (Parameterisation::MeanField, Place::Input, true) => (1.0, 1.0),
                (Parameterisation::MeanField, _, true) => (1.0 / r, 1.0),
            };
            LayerFactors { weights, biases }
        })
        .collect()
}

impl MlpWeights {
    /// Initial weights under a parameterisation: [`MlpWeights::init`]'s draws with each layer's weights
    /// scaled by its [`init_factors`]. Standard, or any parameterisation at W = W0, is `init` bit for bit.
    pub fn init_parameterised(
        shape: MlpShape,
        init: Init,
        parameterisation: Parameterisation,
        base_width: Option<usize>,
        seed: u64,
    ) -> MlpWeights {
        let mut weights = MlpWeights::init(shape, init, seed);
        if parameterisation.is_standard() {
            return weights;
        }
        let base = base_width.expect("a parameterisation other than standard has a base width (the spec checks it)");
        for (layer, factor) in weights.layers.iter_mut().zip(init_factors(parameterisation, shape, base)) {
            if factor != 1.0 {
                layer.w.iter_mut().for_each(|w| *w = (*w as f64 * factor) as f32);
            }
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SGD: Optimizer = Optimizer::Sgd { momentum: 0.0 };
    const ADAM: Optimizer = Optimizer::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

    #[test]
    fn every_factor_is_one_at_the_base_width_and_for_standard() {
        let shape = MlpShape { input: 10, width: 32, depth: 3, classes: 4 };
        for p in Parameterisation::ALL {
            for opt in [SGD, ADAM] {
                assert!(rate_factors(p, opt, shape, 32).iter().all(|f| f.weights == 1.0 && f.biases == 1.0), "{p:?}");
                assert!(rate_factors(Parameterisation::Standard, opt, shape, 4).iter().all(|f| f.weights == 1.0));
            }
            assert!(init_factors(p, shape, 32).iter().all(|f| *f == 1.0));
            assert_eq!(
                MlpWeights::init_parameterised(shape, Init::KaimingUniform, p, Some(32), 3),
                MlpWeights::init(shape, Init::KaimingUniform, 3)
            );
        }
    }

    #[test]
    fn the_table_of_docs_science_at_four_times_the_base_width() {
        let shape = MlpShape { input: 10, width: 64, depth: 2, classes: 4 };
        let f = |w: f64, b: f64| LayerFactors { weights: w, biases: b };
        assert_eq!(rate_factors(Parameterisation::Ntk, SGD, shape, 16), vec![f(1.0, 1.0), f(0.25, 1.0), f(0.25, 1.0)]);
        assert_eq!(rate_factors(Parameterisation::Ntk, ADAM, shape, 16), vec![f(1.0, 1.0), f(0.5, 1.0), f(0.5, 1.0)]);
        assert_eq!(rate_factors(Parameterisation::MeanField, SGD, shape, 16), vec![f(4.0, 4.0), f(1.0, 4.0), f(0.25, 1.0)]);
        assert_eq!(rate_factors(Parameterisation::MeanField, ADAM, shape, 16), vec![f(1.0, 1.0), f(0.25, 1.0), f(0.25, 1.0)]);
        assert_eq!(init_factors(Parameterisation::Ntk, shape, 16), vec![1.0, 1.0, 1.0]);
        assert_eq!(init_factors(Parameterisation::MeanField, shape, 16), vec![1.0, 1.0, 0.5]);
    }
}
