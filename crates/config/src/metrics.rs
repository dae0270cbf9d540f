//! The identity of the probe metrics the verdict tests: one constant per metric, used by the probes
//! that compute it and by the analysis that tests it, so the two cannot drift apart (a contract test in
//! tests/architecture.rs checks that the probes emit every one of them).

use std::fmt;

/// A probe metric as probes.csv spells it: `probe/metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(&'static str);

impl MetricId {
    /// `key` is `probe/metric`.
    pub const fn new(key: &'static str) -> Self {
        MetricId(key)
    }

    /// `probe/metric`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The probe (probes.csv's `probe` column).
    pub fn probe(&self) -> &'static str {
        self.0.split_once('/').expect("a metric id is probe/metric").0
    }

    /// The metric (probes.csv's `metric` column).
    pub fn name(&self) -> &'static str {
        self.0.split_once('/').expect("a metric id is probe/metric").1
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// P1: disagreement of the 2-part partition ensemble.
pub const DISAGREEMENT_M2: MetricId = MetricId::new("partition/disagreement_m2");
/// P1: ambiguity of the 2-part partition ensemble, squared loss.
pub const AMBIGUITY_SQ_M2: MetricId = MetricId::new("partition/ambiguity_sq_m2");
/// P1: ambiguity of the 2-part partition ensemble, log loss.
pub const AMBIGUITY_KL_M2: MetricId = MetricId::new("partition/ambiguity_kl_m2");
/// P2: the effective number of competent sub-networks.
pub const N_EFF: MetricId = MetricId::new("competence/n_eff");
/// P3: effective rank of the unit Gram.
pub const EFFECTIVE_RANK: MetricId = MetricId::new("diversity/effective_rank");
/// P3: participation ratio of the unit Gram.
pub const PARTICIPATION_RATIO: MetricId = MetricId::new("diversity/participation_ratio");
/// P4: effective number of local linear maps.
pub const LINEAR_MAPS: MetricId = MetricId::new("circuits/linear_maps");
/// P6: participation ratio of the activation covariance.
pub const ACTIVATION_PR: MetricId = MetricId::new("geometry/activation_pr");
/// P6: mean CKA between the seeds of one width.
pub const CKA_SEEDS: MetricId = MetricId::new("geometry/cka_seeds");
/// P5: the seeds' variance, squared loss.
pub const VARIANCE_SQ: MetricId = MetricId::new("seed_ensemble/variance_sq");
/// P5: the seeds' variance, log loss.
pub const VARIANCE_KL: MetricId = MetricId::new("seed_ensemble/variance_kl");
/// P5 without one seed (the row's seed is the one left out; 3 or more seeds, trained): the jackknife
/// behind H4's and H5's intervals, which resample whole seeds.
pub const VARIANCE_SQ_WITHOUT: MetricId = MetricId::new("seed_ensemble/variance_sq_without");
pub const VARIANCE_KL_WITHOUT: MetricId = MetricId::new("seed_ensemble/variance_kl_without");
pub const ENSEMBLE_ERR_WITHOUT: MetricId = MetricId::new("seed_ensemble/ensemble_err_without");

/// A metric with one id per ensemble size k (probes.csv `seed_ensemble/ensemble_err_k3`): written by P5
/// for each k and read back by the analysis for each k, both through this one spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KIndexed {
    probe: &'static str,
    stem: &'static str,
}

impl KIndexed {
    pub const fn new(probe: &'static str, stem: &'static str) -> Self {
        KIndexed { probe, stem }
    }

    /// The probe (probes.csv's `probe` column).
    pub fn probe(&self) -> &'static str {
        self.probe
    }

    /// The metric for size `k` (probes.csv's `metric` column): `ensemble_err_k3`.
    pub fn name(&self, k: usize) -> String {
        format!("{}{k}", self.stem)
    }

    /// `probe/metric` for size `k`.
    pub fn id(&self, k: usize) -> String {
        format!("{}/{}", self.probe, self.name(k))
    }

    /// `probe/metric<k>`, for messages.
    pub fn pattern(&self) -> String {
        format!("{}/{}<k>", self.probe, self.stem)
    }

    /// The size k of a `probe/metric` key of this family (`None` for any other key).
    pub fn k_of(&self, key: &str) -> Option<usize> {
        let (probe, name) = key.split_once('/')?;
        let k = name.strip_prefix(self.stem).filter(|_| probe == self.probe)?;
        k.bytes().all(|b| b.is_ascii_digit()).then(|| k.parse().ok()).flatten()
    }
}

/// P5: test error of the average of k seeds' outputs (one value per width), k = 1..S.
pub const ENSEMBLE_ERR_K: KIndexed = KIndexed::new("seed_ensemble", "ensemble_err_k");
/// P5 at width W: test error of one net of width kW minus that of the k-seed ensemble of width W.
pub const KW_ERR_DIFF_K: KIndexed = KIndexed::new("seed_ensemble", "kw_err_diff_k");
/// P5 at width W: share of test inputs where one net of width kW and k nets of width W predict differently.
pub const KW_DISAGREEMENT_K: KIndexed = KIndexed::new("seed_ensemble", "kw_disagreement_k");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_k_indexed_id_round_trips_and_rejects_its_neighbours() {
        assert_eq!(ENSEMBLE_ERR_K.id(3), "seed_ensemble/ensemble_err_k3");
        assert_eq!(ENSEMBLE_ERR_K.k_of("seed_ensemble/ensemble_err_k12"), Some(12));
        assert_eq!(ENSEMBLE_ERR_K.k_of(&KW_ERR_DIFF_K.id(2)), None);
        assert_eq!(ENSEMBLE_ERR_K.k_of("seed_ensemble/ensemble_err_without"), None);
        assert_eq!(ENSEMBLE_ERR_K.k_of("partition/ensemble_err_k2"), None);
        assert_eq!(ENSEMBLE_ERR_K.k_of("seed_ensemble/ensemble_err_k+2"), None);
        assert_eq!(KW_DISAGREEMENT_K.k_of(&KW_DISAGREEMENT_K.id(4)), Some(4));
    }

    #[test]
    fn an_id_splits_into_probe_and_metric() {
        assert_eq!((N_EFF.probe(), N_EFF.name()), ("competence", "n_eff"));
        assert_eq!(AMBIGUITY_SQ_M2.to_string(), "partition/ambiguity_sq_m2");
    }
}
