//! P3, unit functional diversity: the Gram of the unit contributions u_i over the probe set,
//! <u_i, u_j> = (A^T A)_ij (V^T V)_ij, its effective rank and participation ratio; dead units; groups of
//! near-duplicate units.

use crate::rows::Metric;
use crate::spectrum::{effective_rank, participation_ratio, psd_eigenvalues};
use crate::view::ModelView;
use ddlab_config::metrics::{EFFECTIVE_RANK, PARTICIPATION_RATIO};

/// Units whose contributions have cosine similarity at least this are near-duplicates.
pub const DUPLICATE_COSINE: f64 = 0.95;

/// The `width x width` Gram of the unit contributions.
pub fn unit_gram(view: &ModelView) -> Vec<f64> {
    let h = view.width;
    let mut gram = vec![0.0; h * h];
    for i in 0..h {
        for j in 0..h {
            let vv: f64 = (0..view.classes).map(|k| view.v(k, i) as f64 * view.v(k, j) as f64).sum();
            gram[i * h + j] = view.hidden_gram[i * h + j] * vv;
        }
    }
    gram
}

/// Groups (of two or more units) of near-duplicate units, by single linkage on the cosine similarity.
pub fn duplicate_groups(gram: &[f64], width: usize) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..width).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..width {
        for j in i + 1..width {
            let (gi, gj) = (gram[i * width + i], gram[j * width + j]);
            if gi > 0.0 && gj > 0.0 && gram[i * width + j] / (gi * gj).sqrt() >= DUPLICATE_COSINE {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..width {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() >= 2).collect()
}

pub fn diversity(view: &ModelView) -> Vec<Metric> {
    let h = view.width;
    let gram = unit_gram(view);
    let eig = psd_eigenvalues(&gram, h);
    let erank = eig.as_deref().map(effective_rank).map_err(String::clone);
    let pr = eig.as_deref().map(participation_ratio).map_err(String::clone);
    let dead = (0..h).filter(|&i| view.hidden_gram[i * h + i] == 0.0).count();
    let groups = duplicate_groups(&gram, h);
    vec![
        Metric::of(EFFECTIVE_RANK, erank.clone()),
        Metric::from_value("diversity", "effective_rank_per_unit", erank.map(|e| e / h as f64)),
        Metric::of(PARTICIPATION_RATIO, pr.clone()),
        Metric::from_value("diversity", "participation_ratio_per_unit", pr.map(|p| p / h as f64)),
        Metric::new("diversity", "dead_units", dead as f64),
        Metric::new("diversity", "dead_share", dead as f64 / h as f64),
        Metric::new("diversity", "duplicate_groups", groups.len() as f64),
        Metric::new("diversity", "duplicate_units", groups.iter().map(Vec::len).sum::<usize>() as f64),
    ]
}
