//! Synthetic classification data with known structure, generated from a seed (nothing is downloaded).

use rand::RngExt;
use rand_distr::StandardNormal;
use std::path::Path;

use crate::dataset::Dataset;
use crate::error::DataError;
use crate::rng::{seeded, stream};

fn normals(rng: &mut impl RngExt, count: usize, scale: f64) -> Vec<f64> {
    (0..count).map(|_| rng.sample::<f64, _>(StandardNormal) * scale).collect()
}

/// Teacher-student: x ~ N(0, I_dim); the label is the argmax of a random one-hidden-layer ReLU teacher
/// (weights N(0, 1/fan_in)). Class frequencies follow the teacher, so they need not be balanced.
pub fn teacher(pool: usize, dim: usize, classes: usize, teacher_width: usize, seed: u64) -> Result<Dataset, DataError> {
    let mut rng = seeded(seed, stream::GENERATOR);
    let w1 = normals(&mut rng, dim * teacher_width, 1.0 / (dim as f64).sqrt());
    let w2 = normals(&mut rng, teacher_width * classes, 1.0 / (teacher_width as f64).sqrt());
    let x = normals(&mut rng, pool * dim, 1.0);
    let mut y = Vec::with_capacity(pool);
    let mut hidden = vec![0.0; teacher_width];
    for row in x.chunks_exact(dim) {
        for (j, h) in hidden.iter_mut().enumerate() {
            *h = row.iter().enumerate().map(|(i, xi)| xi * w1[i * teacher_width + j]).sum::<f64>().max(0.0);
        }
        let score = |k: usize| hidden.iter().enumerate().map(|(j, h)| h * w2[j * classes + k]).sum::<f64>();
        let best = (0..classes).map(|k| (k, score(k))).fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        y.push(best.0 as u32);
    }
    Dataset::new(x.iter().map(|&v| v as f32).collect(), y, dim, Path::new("<teacher>"))
}

/// Gaussian mixture: class means ~ N(0, separation^2 I); x = mean_y + N(0, I); classes cycle 0..K-1 so
/// they are balanced.
pub fn gaussian_mixture(pool: usize, dim: usize, classes: usize, separation: f64, seed: u64) -> Result<Dataset, DataError> {
    let mut rng = seeded(seed, stream::GENERATOR);
    let means = normals(&mut rng, classes * dim, separation);
    let mut x = Vec::with_capacity(pool * dim);
    let mut y = Vec::with_capacity(pool);
    for i in 0..pool {
        let k = i % classes;
        for m in &means[k * dim..(k + 1) * dim] {
            x.push((m + rng.sample::<f64, _>(StandardNormal)) as f32);
        }
        y.push(k as u32);
    }
    Dataset::new(x, y, dim, Path::new("<gaussian_mixture>"))
}
