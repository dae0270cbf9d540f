//! The probe set: which test inputs every probe of a condition runs on (docs/SCIENCE.md, Probes).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Indices into the test set of the probe set of `size` inputs: the whole test set when it is no larger,
/// else a class-balanced subset drawn from the data seed (stream `PROBE_SET`), so that every run and
/// every width of a condition is probed on the same inputs.
pub fn probe_set_indices(test_labels: &[u32], size: usize, data_seed: u64) -> Vec<usize> {
    if size >= test_labels.len() {
        return (0..test_labels.len()).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(data_seed);
    rng.set_stream(ddlab_config::streams::PROBE_SET);
    ddlab_data::balanced_indices(test_labels, size, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_set_is_the_whole_test_set_or_a_balanced_seeded_subset() {
        let labels: Vec<u32> = (0..300).map(|i| (i % 3) as u32).collect();
        assert_eq!(probe_set_indices(&labels, 500, 0), (0..300).collect::<Vec<_>>());
        let subset = probe_set_indices(&labels, 30, 7);
        assert_eq!(subset.len(), 30);
        for class in 0..3 {
            assert_eq!(subset.iter().filter(|&&i| labels[i] == class).count(), 10, "class {class}");
        }
        assert_eq!(subset, probe_set_indices(&labels, 30, 7), "the data seed fixes it");
        assert_ne!(subset, probe_set_indices(&labels, 30, 8));
    }
}
