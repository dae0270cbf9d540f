//! # ddlab-probe
//!
//! Measures the ensemble of sub-functions inside a trained MLP (docs/SCIENCE.md, Probes). Notation (last
//! hidden layer): a(x) in R^H, readout V (K x H), offset c(x), f(x) = V a(x) + c(x), unit contribution
//! u_i(x) = V[:, i] a_i(x). The offset is the readout bias, minus the initial function for a centred
//! network ([`ModelView::observe_function`]). For depth > 1 every probe uses the last hidden layer, except P4, whose
//! activation patterns span all hidden layers and whose Jacobians are the full input-output ones.
//!
//! ## Probes
//! - P1 [`partition_ensemble`]: exact partition ensembles, in both loss spaces: Heskes's log-loss
//!   decomposition (`_kl`, for cross-entropy) and Krogh-Vedelsby's squared one (`_sq`).
//! - P2 [`competence`]: sub-network competence and N_eff, on the share of units actually kept.
//! - P3 [`diversity`]: effective rank and participation ratio of the unit Gram; dead and duplicate units.
//! - P4 [`circuits`]: activation patterns and the effective number of local linear maps.
//! - P5 [`seed_ensemble`]: bias-variance across seeds of one width (both spaces) and k-seed ensembles.
//! - P6 [`activation_pr`], [`cka`], [`cka_between_seeds`]: representation dimension and similarity.
//! - [`probe_set_indices`]: the test inputs every probe of a condition runs on.
//!
//! ## Where the work runs
//! [`ModelView::observe`] runs every product that grows with the probe set or the width on the Burn
//! device (forward pass, tiles of A^T A, A A^T, the Jacobian Gram); the probes then work on the host in
//! f64. Symmetric eigenvalues come from `faer`. No probe holds a `width x width` matrix or decomposes
//! one larger than [`ProbeLimits::exact_side`]: a spectrum comes from the smaller side of its Gram, or
//! from a Lanczos estimate with its standard error (`unit_gram.rs`; docs/SCIENCE.md, Probes, Cost
//! at any width). [`CrossView`] is the little of a model that the probes across seeds keep. Randomness (partitions, subsets) comes from a stream of the
//! run's seed, so a run's trained and initial weights are probed with the same partitions.
//!
//! ## Undefined, never NaN
//! A [`Metric`] is a finite number or undefined with a reason (competence where the full network is not
//! clearly better than chance, CKA on fewer than 4 inputs, ...); probes.csv shows the reason in its
//! `undefined` column. Definitions: docs/SCIENCE.md, Probes.

mod circuits;
mod competence;
mod diversity;
mod ensemble;
mod geometry;
mod metric;
mod partition;
mod probe_set;
mod spectrum;
mod unit_gram;
mod view;

pub use circuits::circuits;
pub use competence::{
    COMPETENCE_LEVEL, NOT_BETTER_THAN_CHANCE, chance_error, chance_gap_needed, competence, kept_units, q_star, subnetwork_error,
};
pub use diversity::{DUPLICATE_COSINE, diversity, duplicate_groups};
pub use ensemble::{
    MAX_SUBSETS, SeedEnsemble, kw_comparison, kw_metrics, kw_partners, seed_ensemble, seed_ensemble_figures,
    seed_ensemble_without, seed_subsets,
};
pub use geometry::{CKA_MIN_INPUTS, activation_pr, cka, cka_between_seeds, cka_from_grams};
pub use metric::{Metric, Value};
pub use partition::{PartitionFigures, full_figures, partition_ensemble, partition_figures, random_partition};
pub use probe_set::probe_set_indices;
pub use spectrum::{effective_rank, participation_ratio, participation_ratio_of, psd_eigenvalues};
pub use unit_gram::{NON_FINITE_GRAM, ProbeLimits, SpectrumMethod, UnitGram, UnitSpectrum, duplicate_groups_of};
pub use view::{CrossView, ModelView};

use ddlab_config::ProbeSpec;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Every single-model probe (P1-P4, P6's participation ratio) of one model.
pub fn probe_model(view: &ModelView, labels: &[u32], spec: &ProbeSpec, seed: u64) -> Vec<Metric> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(ddlab_config::streams::PROBE);
    // The full network's figures come from its own forward pass.
    let (full_err, full_loss_sq, full_loss_kl) = full_figures(view, labels);
    let mut out = vec![
        Metric::new("partition", "full_err", full_err),
        Metric::new("partition", "full_loss_kl", full_loss_kl),
        Metric::new("partition", "full_loss_sq", full_loss_sq),
    ];
    out.extend(partition_ensemble(view, labels, spec.draws, &mut rng));
    out.extend(competence(view, labels, full_err, &spec.q_grid, spec.draws, &mut rng));
    out.extend(diversity(view));
    out.extend(circuits(view));
    out.extend(activation_pr(view));
    out
}
