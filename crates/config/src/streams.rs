//! Every seeded random stream of a sweep, in one place. Each draw is ChaCha8 seeded with a seed the
//! experiment names (the data seed or the run's seed) on a stream of its own, so that adding draws in one
//! place never shifts another and the same spec gives the same numbers on every machine. The values are
//! part of every result ever computed: never change one.

/// Data (seed: `data_seed`): the train/test split of a single pool.
pub const DATA_SPLIT: u64 = 1;
/// Data (seed: `data_seed`): the class-balanced training subset of each size.
pub const DATA_SUBSET: u64 = 2;
/// Data (seed: `data_seed`): which labels are flipped, and to what.
pub const DATA_NOISE: u64 = 3;
/// Data (seed: `data.generator_seed`): synthetic datasets.
pub const DATA_GENERATOR: u64 = 4;
/// Data (seed: `data_seed` and the run's seed together): the training set each replicate of a
/// `gaussian_linear` sweep draws for itself (the known answer is an expectation over training sets).
pub const DATA_REPLICATE_TRAIN: u64 = 5;
/// Model (seed: the run's seed): initial weights.
pub const INIT: u64 = 0x1417;
/// Training (seed: the run's seed): the mini-batch order of epoch e is stream `BATCH + e`.
pub const BATCH: u64 = 1 << 32;
/// Model (seed: the run's seed): the new weights of a width grown from a smaller one (`model.weight_reuse`)
/// are stream `REUSE + width`; widths lie below 2^32, so these never meet the batch streams.
pub const REUSE: u64 = 1 << 33;
/// Probes (seed: the run's seed): random partitions (P1) and unit subsets (P2).
pub const PROBE: u64 = 0x9b0be;
/// Probes (seed: the run's seed): the Rademacher vectors of the Lanczos estimate of a wide model's
/// unit-Gram spectrum (P3, where neither side of the Gram is small enough to decompose exactly).
pub const LANCZOS: u64 = 0x1a4c205;
/// Probes (seed: `data_seed`): the probe set, a subset of the test inputs.
pub const PROBE_SET: u64 = 0x9b0be5e7;
/// Probes: the seed (not a stream) of the draws of k-member subsets of the seed ensemble; the stream is k.
pub const SEED_SUBSETS_SEED: u64 = 0x5eed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_distinct_and_batches_never_reach_another() {
        let fixed = [DATA_SPLIT, DATA_SUBSET, DATA_NOISE, DATA_GENERATOR, DATA_REPLICATE_TRAIN, INIT, PROBE, PROBE_SET, LANCZOS];
        for (i, a) in fixed.iter().enumerate() {
            assert!(fixed[i + 1..].iter().all(|b| a != b), "stream {a:#x} used twice");
            // Epoch e uses BATCH + e, e < 2^32: the fixed streams all lie below BATCH.
            assert!(*a < BATCH);
        }
        // Batch streams end below BATCH + 2^32 = REUSE, where the reuse streams start.
        assert_eq!(REUSE, BATCH + (1 << 32));
    }
}
