//! Seeded random streams. ChaCha8 is fixed by its specification, so a seed means the same draws on every
//! machine and every version of this crate; each use gets its own stream so that adding draws in one
//! place never shifts another.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Named streams of the data seed (the registry: `ddlab_config::streams`).
pub(crate) mod stream {
    pub use ddlab_config::streams::{
        DATA_GENERATOR as GENERATOR, DATA_NOISE as NOISE, DATA_REPLICATE_TRAIN as REPLICATE_TRAIN, DATA_SPLIT as SPLIT,
        DATA_SUBSET as SUBSET,
    };
}

pub(crate) fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
