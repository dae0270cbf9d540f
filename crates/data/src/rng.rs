//! Seeded random streams. ChaCha8 is fixed by its specification, so a seed means the same draws on every
//! machine and every version of this crate; each use gets its own stream so that adding draws in one
//! place never shifts another.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Named streams of the data seed.
pub(crate) mod stream {
    pub const SPLIT: u64 = 1;
    pub const SUBSET: u64 = 2;
    pub const NOISE: u64 = 3;
    pub const GENERATOR: u64 = 4;
}

pub(crate) fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
