//! The resolved spec: every default filled in, every value checked. Everything downstream reads this,
//! never the experiment file.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One experiment, resolved. Written to `spec.toml` in the sweep folder; its canonical form names the folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Short name; the sweep folder is `<name>-<hash>`.
    pub name: String,
    /// Replicate seeds: each drives one replicate's initialisation and batch order.
    pub seeds: Vec<u64>,
    /// Drives the training subset, the train/test split and the label noise, shared by all replicates.
    pub data_seed: u64,
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    /// Every (n_train, label_noise) pair the widths are crossed with; at least one.
    pub conditions: Vec<Condition>,
    pub probe: ProbeSpec,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    pub dataset: DatasetSource,
    /// Test examples drawn (class-balanced) from the test pool; `None`: all of it.
    pub n_test: Option<usize>,
    pub standardize: Standardize,
}

/// Where examples come from. Paths are stored as given (relative paths resolve against the experiment
/// file's folder at load time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetSource {
    /// A dataset shipped in `data/` (see [`SHIPPED_DATASETS`]).
    Shipped { name: String },
    /// User files. `test` is optional: without it the test set is held out of `train`.
    File { format: FileFormat, train: DataFiles, test: Option<DataFiles> },
    /// Labels from a random teacher MLP on Gaussian inputs.
    Teacher { pool: usize, dim: usize, classes: usize, teacher_width: usize, seed: u64 },
    /// Isotropic Gaussian classes around random means.
    GaussianMixture { pool: usize, dim: usize, classes: usize, separation: f64, seed: u64 },
    /// Regression with a known answer: x ~ N(0, I_dim), y = x . beta + noise, beta_j = sqrt(signal / dim)
    /// (so |beta|^2 = signal), noise ~ N(0, noise_variance). The test set (`pool` examples) is drawn once
    /// from `seed`; each replicate seed draws its own training set (docs/SCIENCE.md, Known answers).
    GaussianLinear { pool: usize, dim: usize, signal: f64, noise_variance: f64, seed: u64 },
}

impl DatasetSource {
    /// Real-valued targets (squared loss; the error columns hold the risk) rather than classes.
    pub fn is_regression(&self) -> bool {
        matches!(self, DatasetSource::GaussianLinear { .. })
    }
}

/// The fewest probe inputs the probes can use: unbiased CKA between two models needs 4 (docs/SCIENCE.md,
/// Probes). `probe.probe_set` and `data.n_test` below it are refused, and so is a dataset whose test set
/// is smaller.
pub const MIN_PROBE_INPUTS: usize = 4;

/// The shipped datasets, by name, as `(name, what it is)`.
pub const SHIPPED_DATASETS: &[(&str, &str)] = &[
    ("digits", "UCI/scikit-learn digits: 1797 8x8 images, 64 features, one pool"),
    ("mnist1d", "MNIST-1D: 4000 train + 1000 test signals, 40 features"),
    ("mnist1d-large", "MNIST-1D large: 10000 train + 2000 test signals, 40 features"),
    ("mnist10k", "MNIST: 10000 28x28 images (IDX, gzipped), 784 features, one pool"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// One file: a label column plus feature columns, with a header.
    Csv,
    /// idx3 images + idx1 labels, gzipped or raw (as MNIST and Fashion-MNIST publish them).
    Idx,
    /// A 2-d float32/float64/uint8 features array + a 1-d integer labels array.
    Npy,
}

/// The file(s) of one split. CSV uses `features` alone (labels are a column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFiles {
    pub features: PathBuf,
    pub labels: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standardize {
    /// Per feature: subtract the training mean, divide by the training std (1 where the std is 0).
    Feature,
    /// One mean and std over all training features (keeps rare pixels from exploding).
    Global,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// What is fitted. Left out of spec.toml for the MLP, so that MLP sweeps keep their hash.
    #[serde(default, skip_serializing_if = "ModelKind::is_mlp")]
    pub kind: ModelKind,
    /// Hidden layers, all of the same width (1 for the closed-form kinds).
    pub depth: usize,
    /// Hidden widths of the sweep (the feature count p for the closed-form kinds), ascending, distinct, all >= 1.
    pub widths: Vec<usize>,
    pub init: Init,
    /// Ridge penalty lambda of the closed-form kinds: minimise (1/n)|F b - y|^2 + lambda |b|^2. 0 (the
    /// default, left out of spec.toml): the minimum-norm least-squares solution.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ridge: f64,
    /// Below the interpolation threshold (params < n_train x classes), start each width from the trained
    /// weights of the next smaller width of the sweep (same condition and seed), as Belkin et al. 2019
    /// did (docs/SCIENCE.md, Models, data and training: weight reuse). Left out of spec.toml when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub weight_reuse: bool,
    /// W0, the width at which every parameterisation is the standard network (`model.base_width`), set
    /// when a condition's parameterisation is not standard. Left out of spec.toml when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_width: Option<usize>,
}

fn is_false(x: &bool) -> bool {
    !*x
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The model a sweep fits at each width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The MLP, trained by gradient descent.
    #[default]
    Mlp,
    /// Least squares on the first p input features, no intercept, fitted in closed form.
    Linear,
    /// A frozen random ReLU layer of width p (initialised like the MLP's first layer) and a readout
    /// fitted in closed form, no readout bias.
    RandomFeatures,
}

impl ModelKind {
    pub fn is_mlp(&self) -> bool {
        *self == ModelKind::Mlp
    }

    /// Fitted in closed form (no training loop, no epochs).
    pub fn is_closed_form(&self) -> bool {
        !self.is_mlp()
    }

    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Linear => "linear",
            ModelKind::RandomFeatures => "random_features",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// PyTorch's `nn.Linear` default: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    KaimingUniform,
    /// He normal weights N(0, 2/fan_in), zero biases.
    HeNormal,
    /// He uniform weights U(-sqrt(6/fan_in), sqrt(6/fan_in)) (PyTorch's `kaiming_uniform_` with its
    /// defaults), zero biases: the "Understanding Deep Learning" notebooks' init.
    HeUniform,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub lr: f64,
    /// Multiply the learning rate by `factor` every `every` epochs.
    pub lr_decay: Option<LrDecay>,
    pub epochs: usize,
    /// `None` is full batch.
    pub batch_size: Option<usize>,
    /// Evaluate (and write a metrics.csv row) every this many epochs, and at the last epoch.
    pub eval_every: usize,
    /// Checkpoint every this many epochs (0: only on a signal and at the end). Not part of the hash.
    pub checkpoint_every: usize,
    /// The condition's intervention ([`Spec::train_for`] sets it); plain in spec.toml's `train`, where it
    /// is left out.
    #[serde(default, skip_serializing_if = "Intervention::is_plain")]
    pub intervention: Intervention,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Squared loss on one-hot targets: mean over examples of ||f(x) - onehot(y)||^2.
    Mse,
    /// Softmax cross-entropy, mean over examples.
    Ce,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Optimizer {
    Sgd { momentum: f64 },
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrDecay {
    pub every: usize,
    pub factor: f64,
}

/// One training set (its size and its label-noise level) and, when the experiment crosses epoch budgets
/// (`conditions.epochs`), the budget its runs train for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub n_train: usize,
    pub label_noise: f64,
    /// None: `train.epochs`. Left out of spec.toml when None, so sweeps without it keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// A data draw (`conditions.data_seed`): this condition's split, training subset and label flips come
    /// from this seed instead of the spec's `data_seed`, so that the data draw is a replicate the
    /// analysis can treat as a unit. None: the spec's; left out of spec.toml then, so sweeps without
    /// draws keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// alpha: the trained function is alpha times the network (`conditions.output_scale`,
    /// `model.output_scale`). 1 is left out of spec.toml, so sweeps without it keep their hash.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub output_scale: f64,
    /// The trained function is the network minus its initial function (`conditions.centred`,
    /// `model.centred`). Left out of spec.toml when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub centred: bool,
    /// How initial weights and learning rates scale with the width (`conditions.parameterisation`,
    /// `model.parameterisation`). Left out of spec.toml when standard.
    #[serde(default, skip_serializing_if = "Parameterisation::is_standard")]
    pub parameterisation: Parameterisation,
}

/// How a network's initial weights and per-layer learning rates scale with its width, relative to a base
/// width W0 at which all are the standard network (docs/SCIENCE.md, Models, data and training:
/// parameterisations). Weights are always the effective ones, the forward pass's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameterisation {
    /// Every factor 1: ddlab's training as it was before parameterisations.
    #[default]
    Standard,
    /// Neural tangent: a multiplier sqrt(W0 / W) on every weight whose fan-in is the width.
    Ntk,
    /// Mean field, extended to depth as muP: the readout starts sqrt(W0 / W) smaller, and every unit
    /// learns at a rate that does not depend on the width.
    MeanField,
}

impl Parameterisation {
    pub const ALL: [Parameterisation; 3] = [Parameterisation::Standard, Parameterisation::Ntk, Parameterisation::MeanField];

    pub fn is_standard(&self) -> bool {
        *self == Parameterisation::Standard
    }

    /// The name in experiment files.
    pub fn name(&self) -> &'static str {
        match self {
            Parameterisation::Standard => "standard",
            Parameterisation::Ntk => "ntk",
            Parameterisation::MeanField => "mean_field",
        }
    }

    /// The parameterisation called `name` in an experiment file.
    pub fn from_name(name: &str) -> Option<Self> {
        Parameterisation::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The label suffix: none, `-ntk` or `-mf`.
    pub fn suffix(&self) -> &'static str {
        match self {
            Parameterisation::Standard => "",
            Parameterisation::Ntk => "-ntk",
            Parameterisation::MeanField => "-mf",
        }
    }
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// How a network g is turned into the function that is trained and measured (docs/SCIENCE.md, Models,
/// data and training: interventions): f = alpha (g(theta) - g(theta_0)) when centred, else alpha g(theta),
/// trained on l(f) / alpha^2.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub output_scale: f64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub centred: bool,
    #[serde(default, skip_serializing_if = "Parameterisation::is_standard")]
    pub parameterisation: Parameterisation,
    /// W0 of a parameterisation other than standard ([`crate::Spec::train_for`] sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_width: Option<usize>,
}

impl Default for Intervention {
    fn default() -> Self {
        Intervention { output_scale: 1.0, centred: false, parameterisation: Parameterisation::Standard, base_width: None }
    }
}

impl Intervention {
    /// The plain network: nothing is computed differently.
    pub fn is_plain(&self) -> bool {
        *self == Intervention::default()
    }

    /// Its name in reports: the label suffix without its first dash, `plain` for the plain network.
    pub fn name(&self) -> String {
        match self.suffix() {
            s if s.is_empty() => "plain".to_string(),
            s => s[1..].to_string(),
        }
    }

    /// The label suffix: `-centred`, `-a<alpha>` and `-ntk` or `-mf` where they differ from the plain
    /// network.
    pub fn suffix(&self) -> String {
        let mut out = String::new();
        if self.centred {
            out.push_str("-centred");
        }
        if self.output_scale != 1.0 {
            out.push_str(&format!("-a{}", self.output_scale));
        }
        out.push_str(self.parameterisation.suffix());
        out
    }
}

impl Condition {
    /// A condition that trains for `train.epochs` on the spec's data draw.
    pub fn new(n_train: usize, label_noise: f64) -> Self {
        Condition {
            n_train,
            label_noise,
            epochs: None,
            data_seed: None,
            output_scale: 1.0,
            centred: false,
            parameterisation: Parameterisation::Standard,
        }
    }

    /// How this condition's networks become the functions that are trained and measured (without the
    /// base width, a model setting: [`crate::Spec::train_for`] adds it).
    pub fn intervention(&self) -> Intervention {
        Intervention {
            output_scale: self.output_scale,
            centred: self.centred,
            parameterisation: self.parameterisation,
            base_width: None,
        }
    }

    /// The condition's folder name, e.g. `n1200-noise0.2` (`n1200-noise0.2-e500` with its own budget,
    /// `n1200-noise0.2-d3` on data draw 3).
    pub fn label(&self) -> String {
        format!("{}{}", self.setting(), self.data_seed.map_or(String::new(), |d| format!("-d{d}")))
    }

    /// The label without the data draw: conditions that differ only in their draw are replicates of one
    /// setting.
    pub fn setting(&self) -> String {
        format!("{}{}", self.base_setting(), self.intervention().suffix())
    }

    /// The setting without its intervention: conditions that differ only in their intervention are the
    /// interventions of one replicate of the decision between the accounts.
    pub fn base_setting(&self) -> String {
        let budget = self.epochs.map_or(String::new(), |e| format!("-e{e}"));
        format!("n{}-noise{}{budget}", self.n_train, self.label_noise)
    }

    /// Exact number of flipped training labels: round(p * n).
    pub fn flipped_count(&self) -> usize {
        (self.label_noise * self.n_train as f64).round() as usize
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// At most this many test inputs (a seeded subset) form the probe set.
    pub probe_set: usize,
    /// R: random partitions per M (P1) and random subsets per q (P2).
    pub draws: usize,
    /// The P2 keep-fractions q.
    pub q_grid: Vec<f64>,
    /// Probe every this many epochs during training (0: only at init and at the end).
    pub every: usize,
}

impl Spec {
    /// Why the probes do not apply to this sweep, or `None` when they do. They read hidden units and
    /// classes: a linear model has no hidden units, and regression targets have no classes (errors,
    /// argmax agreement and chance level are all defined by classes).
    pub fn probes_not_applicable(&self) -> Option<String> {
        if self.data.dataset.is_regression() {
            return Some(
                "the probes are defined for classification (errors, argmax, chance level); gaussian_linear is regression".into(),
            );
        }
        if self.model.kind == ModelKind::Linear {
            return Some("model.kind = \"linear\" has no hidden units to probe".into());
        }
        None
    }

    /// Parameter count of one model: (d+1)H + (depth-1)(H+1)H + (H+1)K.
    pub fn params(input: usize, width: usize, depth: usize, classes: usize) -> usize {
        (input + 1) * width + depth.saturating_sub(1) * (width + 1) * width + (width + 1) * classes
    }
}
