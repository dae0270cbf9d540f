//! Every experiment-file key, its default and its meaning: the single table that README's key reference
//! is generated from (`ddlab keys`), and that tests check against the parser (every key parses, every
//! parsed key is listed, every default written here is the default the resolver uses).

/// One documented key. `default` is a TOML value, or a parenthesised phrase when the default is not a
/// literal (required keys, computed defaults).
#[derive(Clone, Copy, Debug)]
pub struct KeyDoc {
    pub key: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

const fn k(key: &'static str, default: &'static str, meaning: &'static str) -> KeyDoc {
    KeyDoc { key, default, meaning }
}

pub const KEYS: &[KeyDoc] = &[
    k("name", "(file stem)", "Sweep name; the sweep folder is `<name>-<10 hex of SHA-256 of the resolved spec>`."),
    k("seeds", "[0, 1, 2]", "Replicate seeds; each drives one replicate's initialisation and batch order."),
    k(
        "data_seed",
        "0",
        "Drives the train/test split, the class-balanced training subset and the label noise; shared by all replicates.",
    ),
    k(
        "data.dataset",
        "(required)",
        "A shipped dataset (`digits`, `mnist1d`, `mnist1d-large`, `mnist10k`), `file`, `teacher`, `gaussian_mixture` or `gaussian_linear` (regression with a closed-form risk).",
    ),
    k(
        "data.format",
        "(required for file)",
        "`csv` (label column + feature columns, with header), `idx` (idx3 images + idx1 labels, gzipped or raw) or `npy`.",
    ),
    k(
        "data.train",
        "(required for file)",
        "Training file: the CSV, or the IDX/NPY features. Relative paths are relative to the experiment file.",
    ),
    k("data.train_labels", "(required for idx/npy)", "Training labels (idx1 or 1-d integer NPY)."),
    k("data.test", "(none: hold out of train)", "Test file (same format as `train`)."),
    k("data.test_labels", "(required with idx/npy test)", "Test labels."),
    k("data.n_train", "(required)", "Training examples, drawn class-balanced from the training pool with `data_seed`."),
    k(
        "data.n_test",
        "(all)",
        "Test examples: drawn class-balanced from the test file, or held out of a single pool (default: a third of it).",
    ),
    k(
        "data.label_noise",
        "0.0",
        "Fraction p of training labels replaced by a uniformly drawn different class (exactly round(p n) flips).",
    ),
    k(
        "data.standardize",
        "\"feature\"",
        "`feature` (per-feature mean/std of the training set), `global` (one mean/std) or `none` (the only choice, and the default, for `gaussian_linear`).",
    ),
    k(
        "data.pool",
        "4000",
        "Synthetic datasets: examples generated (the pool the train and test sets come from; for `gaussian_linear`, the test pool).",
    ),
    k("data.dim", "20", "Synthetic datasets: input dimension."),
    k("data.classes", "10", "Synthetic datasets: number of classes."),
    k("data.teacher_width", "32", "`teacher`: hidden width of the random teacher MLP whose argmax is the label."),
    k("data.separation", "3.0", "`gaussian_mixture`: std of the class means (the noise std is 1)."),
    k(
        "data.signal",
        "1.0",
        "`gaussian_linear`: |beta|^2, the signal's variance (beta_j = sqrt(signal / dim) for every feature).",
    ),
    k("data.noise_variance", "0.25", "`gaussian_linear`: variance of the Gaussian noise added to x . beta."),
    k(
        "data.generator_seed",
        "0",
        "Synthetic datasets: seed of the generator (for `gaussian_linear`, of the test set; each replicate seed draws its own training set).",
    ),
    k(
        "model.kind",
        "\"mlp\"",
        "`mlp` (trained), or a known-answer model fitted in closed form (minimum-norm least squares): `linear` (the first p input features) or `random_features` (a frozen random ReLU layer of width p and a fitted readout). For both, the widths are p.",
    ),
    k(
        "model.ridge",
        "0.0",
        "`linear`, `random_features`: ridge penalty lambda, minimising (1/n)|F b - y|^2 + lambda |b|^2 (0: the minimum-norm interpolant past p = n).",
    ),
    k("model.depth", "1", "Hidden ReLU layers, all of the same width."),
    k(
        "model.widths",
        "{ from = 1, to = 1024, count = 21 }",
        "Hidden widths: a list, or a geometric range (rounded, duplicates dropped).",
    ),
    k(
        "model.init",
        "\"kaiming_uniform\"",
        "`kaiming_uniform` (PyTorch nn.Linear default, U(+-1/sqrt(fan_in))) `he_normal` (N(0, 2/fan_in), zero bias) or `he_uniform` (U(+-sqrt(6/fan_in)), zero bias).",
    ),
    k(
        "model.weight_reuse",
        "false",
        "`mlp`: below the interpolation threshold (params < n_train x classes) start each width from the trained weights of the next smaller width (same seed), new weights N(0, 0.01), new biases 0 (Belkin et al. 2019). Widths then train in order.",
    ),
    k(
        "model.output_scale",
        "1.0",
        "`mlp`: alpha, an intervention: the network g is trained as alpha g (alpha (g - g_0) with `centred`) on the loss / alpha^2, Adam's learning rate divided by alpha; larger alpha, lazier training (docs/SCIENCE.md, interventions). Finite and > 0; files keep g.",
    ),
    k(
        "model.centred",
        "false",
        "`mlp`: an intervention: train the network minus its initial function, g(theta) - g(theta_0), which is exactly 0 at initialisation and carries no initial-function variance.",
    ),
    k(
        "model.parameterisation",
        "\"standard\"",
        "`mlp`: `standard`, `ntk` or `mean_field` (muP): how initial weights and per-layer learning rates scale with the width relative to `base_width` (docs/SCIENCE.md, parameterisations). Files hold the effective weights.",
    ),
    k(
        "model.base_width",
        "(none)",
        "W0, needed by `ntk` and `mean_field`: the width at which they are the standard network; `train.lr` is the rate tuned there.",
    ),
    k(
        "train.loss",
        "\"mse\"",
        "`mse` (squared loss on one-hot targets, summed over classes, mean over examples) or `ce` (cross-entropy).",
    ),
    k("train.optimizer", "\"adam\"", "`adam` or `sgd` (with momentum). No weight decay: regularisation hides the peak."),
    k("train.lr", "0.001", "Learning rate."),
    k("train.momentum", "0.9", "SGD momentum."),
    k("train.beta1", "0.9", "Adam beta1."),
    k("train.beta2", "0.999", "Adam beta2."),
    k("train.eps", "1e-8", "Adam epsilon."),
    k(
        "train.lr_decay_every",
        "0",
        "Step schedule: multiply the learning rate by `lr_decay_factor` every this many epochs (0: constant).",
    ),
    k("train.lr_decay_factor", "0.1", "Step schedule factor."),
    k("train.epochs", "1000", "Training epochs (the budget is part of the result: the peak moves with it)."),
    k("train.batch_size", "\"full\"", "Mini-batch size, or `\"full\"` for full-batch gradient descent."),
    k("train.eval_every", "10", "Evaluate train and test loss/error every this many epochs (and at the last)."),
    k(
        "train.checkpoint_every",
        "500",
        "Checkpoint every this many epochs (0: only at the end and on SIGINT/SIGTERM). Not part of the hash.",
    ),
    k("conditions.n_train", "([data.n_train])", "Training-set sizes crossed with the widths."),
    k("conditions.label_noise", "([data.label_noise])", "Label-noise levels crossed with the widths."),
    k(
        "conditions.epochs",
        "([train.epochs])",
        "Epoch budgets crossed with the widths (instead of train.epochs); each condition's runs train for its budget.",
    ),
    k(
        "conditions.data_seed",
        "([data_seed])",
        "Data draws crossed with the other conditions: each draw has its own split, training subset and label flips (and, for regression data, its own sets), so the analysis can treat the draw as a replicate (condition label `...-d<seed>`).",
    ),
    k(
        "conditions.output_scale",
        "([model.output_scale])",
        "Output scales alpha crossed with the other conditions (label `...-a<alpha>`).",
    ),
    k(
        "conditions.centred",
        "([model.centred])",
        "`[false, true]`: plain and centred networks crossed with the other conditions (label `...-centred`).",
    ),
    k(
        "conditions.parameterisation",
        "([model.parameterisation])",
        "e.g. `[\"standard\", \"ntk\", \"mean_field\"]`: parameterisations crossed with the other conditions (label `...-ntk`, `...-mf`).",
    ),
    k("probe.probe_set", "1000", "Probe inputs: a seeded subset of at most this many test inputs."),
    k("probe.draws", "3", "R: random partitions per M (P1) and random unit subsets per q (P2)."),
    k("probe.q_grid", "[0.05, 0.1, 0.25, 0.5, 0.75]", "P2 keep-fractions q."),
    k("probe.every", "0", "Also probe every this many epochs during training (0: only at init and at the end)."),
];

/// The default of `key` as [`KEYS`] documents it, read as a TOML value: the resolver takes every literal
/// default from here, so that the table and the parser have one source. Panics on a key that is not
/// documented or whose default is not a literal (`tests/keys.rs` reads every one).
pub(crate) fn documented<T: serde::de::DeserializeOwned>(key: &str) -> T {
    #[derive(serde::Deserialize)]
    struct Value<T> {
        v: T,
    }
    let doc = KEYS.iter().find(|k| k.key == key).unwrap_or_else(|| panic!("{key} is not documented in KEYS"));
    toml::from_str::<Value<T>>(&format!("v = {}", doc.default))
        .unwrap_or_else(|e| panic!("the documented default of {key}, {}, is not a value of its type: {e}", doc.default))
        .v
}

/// The key table as Markdown (README embeds this verbatim; a test keeps them equal).
pub fn keys_markdown() -> String {
    let mut out = String::from("| key | default | meaning |\n| --- | --- | --- |\n");
    for key in KEYS {
        out.push_str(&format!("| `{}` | `{}` | {} |\n", key.key, key.default, key.meaning));
    }
    out
}
