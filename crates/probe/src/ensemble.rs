//! P5, the seed ensemble of one width: bias and variance of the outputs across seeds (squared loss on
//! one-hot, clean labels), with E_s[loss_s] = bias^2 + variance exactly, and the error of the
//! seed-averaged predictor.

use crate::partition::{argmax, sq_loss};
use crate::rows::Metric;
use crate::view::ModelView;

/// Figures of a seed ensemble.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeedEnsemble {
    pub bias2: f64,
    pub variance: f64,
    pub mean_loss: f64,
    pub ensemble_err: f64,
    pub mean_member_err: f64,
}

pub fn seed_ensemble_figures(views: &[&ModelView], labels: &[u32]) -> SeedEnsemble {
    let (n, k, s) = (views[0].n, views[0].classes, views.len() as f64);
    let (mut bias2, mut variance, mut mean_loss, mut ensemble_err, mut member_err) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for x in 0..n {
        let outs: Vec<Vec<f64>> =
            views.iter().map(|v| v.output[x * k..(x + 1) * k].iter().map(|&o| o as f64).collect()).collect();
        let mean: Vec<f64> = (0..k).map(|c| outs.iter().map(|o| o[c]).sum::<f64>() / s).collect();
        bias2 += sq_loss(&mean, labels[x]);
        for o in &outs {
            variance += o.iter().zip(&mean).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / s;
            mean_loss += sq_loss(o, labels[x]) / s;
            member_err += (argmax(o) != labels[x] as usize) as u8 as f64 / s;
        }
        ensemble_err += (argmax(&mean) != labels[x] as usize) as u8 as f64;
    }
    let n = n as f64;
    SeedEnsemble {
        bias2: bias2 / n,
        variance: variance / n,
        mean_loss: mean_loss / n,
        ensemble_err: ensemble_err / n,
        mean_member_err: member_err / n,
    }
}

pub fn seed_ensemble(views: &[&ModelView], labels: &[u32]) -> Vec<Metric> {
    let f = seed_ensemble_figures(views, labels);
    vec![
        ("seed_ensemble", "bias2".into(), f.bias2),
        ("seed_ensemble", "variance".into(), f.variance),
        ("seed_ensemble", "mean_loss".into(), f.mean_loss),
        ("seed_ensemble", "ensemble_err".into(), f.ensemble_err),
        ("seed_ensemble", "mean_member_err".into(), f.mean_member_err),
    ]
}
