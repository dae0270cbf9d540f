//! The facts about a sweep that every stage needs, derived once: the folder and its spec, each
//! condition's prepared data, each run's network shape.

use std::path::Path;

use ddlab_config::{RunKey, Spec};
use ddlab_data::Prepared;
use ddlab_model::MlpShape;
use ddlab_store::{Phases, SweepDir};

/// An open sweep folder with its conditions' data: what training, fitting and probing work from.
pub struct SweepContext {
    pub dir: SweepDir,
    /// Each condition's data, by condition index (empty for a regression dataset, whose sets each
    /// replicate generates).
    pub prepared: Vec<Prepared>,
}

impl SweepContext {
    pub fn new(dir: SweepDir, prepared: Vec<Prepared>) -> Self {
        SweepContext { dir, prepared }
    }

    /// An existing sweep folder and its data prepared again (shipped datasets from `data_dir`): what
    /// `ddlab probe` works from.
    pub fn open(folder: &Path, data_dir: &Path) -> crate::Result<Self> {
        let dir = SweepDir::open(folder)?;
        let prepared = crate::prepare_conditions(&dir.spec, data_dir)?;
        Ok(SweepContext { dir, prepared })
    }

    pub fn spec(&self) -> &Spec {
        &self.dir.spec
    }

    /// The network of a run.
    pub fn shape(&self, key: &RunKey) -> MlpShape {
        run_shape(self.spec(), &self.prepared[key.index], key.width)
    }

    /// Where every run of the sweep stands now: one snapshot per decision ([`SweepDir::phases`]).
    pub fn phases(&self) -> crate::Result<Phases> {
        Ok(self.dir.phases()?)
    }
}

/// The network of width `width` on a condition's data: the one place a run's shape is derived.
pub fn run_shape(spec: &Spec, data: &Prepared, width: usize) -> MlpShape {
    MlpShape { input: data.train.dim, width, depth: spec.model.depth, classes: data.classes }
}
