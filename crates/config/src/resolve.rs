//! Experiment file -> [`Spec`]: fill defaults, check every value, and say where a bad one is.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::error::SpecError;
use crate::file::{BatchValue, DataTable, ExperimentFile, WidthsValue};
use crate::keys::documented;
use crate::spec::*;

/// The intervention values a sweep crosses with its other conditions.
struct InterventionAxes {
    scales: Vec<f64>,
    centring: Vec<bool>,
    parameterisations: Vec<Parameterisation>,
}

/// Reads and resolves an experiment file. Errors name the file, the line and the key.
pub fn load_spec(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::io(path, e))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("sweep");
    let mut spec = parse_spec(&text, stem).map_err(|e| e.in_file(path))?;
    // Data paths are relative to the experiment file, so that an experiment and its data move together.
    if let DatasetSource::File { train, test, .. } = &mut spec.data.dataset {
        let base = path.parent().unwrap_or(Path::new("."));
        for files in std::iter::once(train).chain(test.as_mut()) {
            for file in std::iter::once(&mut files.features).chain(files.labels.as_mut()) {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
        }
    }
    Ok(spec)
}

/// Parses and resolves experiment-file text; `default_name` names the sweep when the file does not.
pub fn parse_spec(text: &str, default_name: &str) -> Result<Spec, SpecError> {
    let file: ExperimentFile = toml::from_str(text).map_err(|e| SpecError::syntax(text, &e))?;
    Resolver { text }.resolve(file, default_name)
}

struct Resolver<'a> {
    text: &'a str,
}

impl Resolver<'_> {
    fn bad(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> SpecError {
        SpecError::value(self.text, span, key, message)
    }

    fn bad_spanned<T>(&self, value: &Spanned<T>, key: &str, message: impl Into<String>) -> SpecError {
        self.bad(value.span(), key, message)
    }

    /// An integer key that must be >= `min`.
    fn count(&self, value: &Option<Spanned<i64>>, key: &str, default: usize, min: i64) -> Result<usize, SpecError> {
        match value {
            None => Ok(default),
            Some(v) if *v.get_ref() < min => Err(self.bad_spanned(v, key, format!("must be >= {min}, got {}", v.get_ref()))),
            Some(v) => Ok(*v.get_ref() as usize),
        }
    }

    /// A real key that must be finite and inside `ok` (described by `what`).
    fn real(
        &self,
        value: &Option<Spanned<f64>>,
        key: &str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<f64, SpecError> {
        match value {
            None => Ok(default),
            Some(v) if !v.get_ref().is_finite() || !ok(*v.get_ref()) => {
                Err(self.bad_spanned(v, key, format!("must be {what}, got {}", v.get_ref())))
            }
            Some(v) => Ok(*v.get_ref()),
        }
    }

    fn resolve(&self, file: ExperimentFile, default_name: &str) -> Result<Spec, SpecError> {
        let name = match &file.name {
            Some(n) if n.get_ref().is_empty() || !n.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => {
                return Err(self.bad_spanned(n, "name", "must be non-empty and use only letters, digits, '-', '_' and '.'"));
            }
            Some(n) => n.get_ref().clone(),
            None => default_name.to_string(),
        };
        let seeds = match &file.seeds {
            None => documented("seeds"),
            Some(s) => {
                let list = s.get_ref().clone();
                if list.is_empty() {
                    return Err(self.bad_spanned(s, "seeds", "needs at least one seed"));
                }
                if list.iter().collect::<BTreeSet<_>>().len() != list.len() {
                    return Err(self.bad_spanned(s, "seeds", "has a repeated seed"));
                }
                list
            }
        };
        let data = self.data(&file.data)?;
        let conditions = self.conditions(&file)?;
        let mut train = self.train(&file)?;
        // With epoch budgets as conditions, train.epochs is the largest of them (what a run trains at most).
        if let Some(most) = conditions.iter().filter_map(|c| c.epochs).max() {
            train.epochs = most;
        }
        let model = self.model(&file)?;
        if model.kind.is_closed_form() {
            self.closed_form_checks(&file, model.kind)?;
            // No training loop: no epochs.
            train.epochs = 0;
        }
        if data.dataset.is_regression() {
            self.regression_checks(&file, &data, &model)?;
        }
        self.intervention_checks(&file, &model, &conditions)?;
        Ok(Spec {
            name,
            seeds,
            data_seed: file.data_seed.unwrap_or_else(|| documented("data_seed")),
            data,
            model,
            train,
            conditions,
            probe: self.probe(&file)?,
        })
    }

    /// A closed-form fit has no training loop: the keys that configure one do not apply, and the loss is
    /// the squared loss it minimises.
    fn closed_form_checks(&self, file: &ExperimentFile, kind: ModelKind) -> Result<(), SpecError> {
        let t = &file.train;
        let why = format!("does not apply to model.kind = \"{}\" (fitted in closed form, no training loop)", kind.name());
        if let Some(l) = &t.loss
            && *l.get_ref() != Loss::Mse
        {
            return Err(self.bad_spanned(
                l,
                "train.loss",
                format!("must be \"mse\" for model.kind = \"{}\" (the closed form minimises the squared loss)", kind.name()),
            ));
        }
        let spans = [
            ("train.optimizer", t.optimizer.as_ref().map(|v| v.span())),
            ("train.lr", t.lr.as_ref().map(|v| v.span())),
            ("train.momentum", t.momentum.as_ref().map(|v| v.span())),
            ("train.beta1", t.beta1.as_ref().map(|v| v.span())),
            ("train.beta2", t.beta2.as_ref().map(|v| v.span())),
            ("train.eps", t.eps.as_ref().map(|v| v.span())),
            ("train.lr_decay_every", t.lr_decay_every.as_ref().map(|v| v.span())),
            ("train.lr_decay_factor", t.lr_decay_factor.as_ref().map(|v| v.span())),
            ("train.epochs", t.epochs.as_ref().map(|v| v.span())),
            ("train.batch_size", t.batch_size.as_ref().map(|v| v.span())),
            ("train.eval_every", t.eval_every.as_ref().map(|v| v.span())),
            ("train.checkpoint_every", t.checkpoint_every.as_ref().map(|v| v.span())),
            ("conditions.epochs", file.conditions.as_ref().and_then(|c| c.epochs.as_ref()).map(|v| v.span())),
            ("probe.every", file.probe.every.as_ref().map(|v| v.span())),
        ];
        match spans.into_iter().find_map(|(key, span)| span.map(|s| (key, s))) {
            Some((key, span)) => Err(self.bad(span, key, why)),
            None => Ok(()),
        }
    }

    /// An intervention changes how a trained network's initial function enters: the closed-form models
    /// have none to scale or centre, and weight reuse starts a network from another's trained weights.
    /// A parameterisation other than standard needs `model.base_width`, which nothing else uses.
    fn intervention_checks(&self, file: &ExperimentFile, model: &ModelSpec, conditions: &[Condition]) -> Result<(), SpecError> {
        let c = file.conditions.as_ref();
        let m = &file.model;
        let keys = [
            ("model.output_scale", m.output_scale.as_ref().map(|v| v.span())),
            ("model.centred", m.centred.as_ref().map(|v| v.span())),
            ("model.parameterisation", m.parameterisation.as_ref().map(|v| v.span())),
            ("model.base_width", m.base_width.as_ref().map(|v| v.span())),
            ("conditions.output_scale", c.and_then(|c| c.output_scale.as_ref()).map(|v| v.span())),
            ("conditions.centred", c.and_then(|c| c.centred.as_ref()).map(|v| v.span())),
            ("conditions.parameterisation", c.and_then(|c| c.parameterisation.as_ref()).map(|v| v.span())),
        ];
        let Some((key, span)) = keys.into_iter().find_map(|(key, span)| span.map(|s| (key, s))) else {
            return Ok(());
        };
        if model.kind.is_closed_form() {
            return Err(self.bad(
                span,
                key,
                format!(
                    "does not apply to model.kind = \"{}\" (fitted in closed form: no initial function to scale or centre)",
                    model.kind.name()
                ),
            ));
        }
        if model.weight_reuse {
            return Err(self.bad(
                span,
                key,
                "does not combine with model.weight_reuse (a network grown from another's trained weights has no initial function of its own)",
            ));
        }
        let scaled = conditions.iter().find(|c| !c.parameterisation.is_standard());
        match (scaled, &m.base_width) {
            (Some(scaled), None) => {
                let (key, span) = match (c.and_then(|c| c.parameterisation.as_ref()), &m.parameterisation) {
                    (Some(list), _) => ("conditions.parameterisation", list.span()),
                    (None, Some(value)) => ("model.parameterisation", value.span()),
                    (None, None) => unreachable!("a parameterisation other than standard was set somewhere"),
                };
                Err(self.bad(
                    span,
                    key,
                    format!(
                        "`{}` needs model.base_width, the width W0 at which it is the standard network (train.lr is the rate tuned there)",
                        scaled.parameterisation.name()
                    ),
                ))
            }
            (None, Some(width)) => Err(self.bad_spanned(
                width,
                "model.base_width",
                "is used only by the ntk and mean_field parameterisations, and every condition is standard",
            )),
            _ => Ok(()),
        }
    }

    /// Regression targets: a closed-form model, no label noise, and no probes (they are defined by classes).
    fn regression_checks(&self, file: &ExperimentFile, data: &DataSpec, model: &ModelSpec) -> Result<(), SpecError> {
        let d = &file.data;
        let dataset_span = d.dataset.as_ref().map(|v| v.span()).unwrap_or(0..0);
        if model.kind.is_mlp() {
            let span = file.model.kind.as_ref().map(|v| v.span()).unwrap_or(dataset_span);
            return Err(self.bad(
                span,
                "model.kind",
                "must be \"linear\" or \"random_features\" with dataset = \"gaussian_linear\" (ddlab trains MLPs on classes only)",
            ));
        }
        let noise = d.label_noise.as_ref().map(|v| ("data.label_noise", v.span())).or_else(|| {
            file.conditions.as_ref().and_then(|c| c.label_noise.as_ref()).map(|v| ("conditions.label_noise", v.span()))
        });
        if let Some((key, span)) = noise {
            return Err(self.bad(
                span,
                key,
                "does not apply to gaussian_linear (label noise flips classes; its noise is data.noise_variance)",
            ));
        }
        let probe = &file.probe;
        let probe_keys = [
            ("probe.probe_set", probe.probe_set.as_ref().map(|v| v.span())),
            ("probe.draws", probe.draws.as_ref().map(|v| v.span())),
            ("probe.q_grid", probe.q_grid.as_ref().map(|v| v.span())),
        ];
        if let Some((key, span)) = probe_keys.into_iter().find_map(|(key, span)| span.map(|s| (key, s))) {
            return Err(self.bad(
                span,
                key,
                "configures a probe defined for classification (errors, argmax, chance level); gaussian_linear is regression and is not probed",
            ));
        }
        if let (ModelKind::Linear, DatasetSource::GaussianLinear { dim, .. }) = (model.kind, &data.dataset)
            && let Some(&p) = model.widths.iter().find(|&&p| p > *dim)
        {
            let span = file.model.widths.as_ref().map(|v| v.span()).unwrap_or(dataset_span);
            return Err(self.bad(
                span,
                "model.widths",
                format!("p = {p} exceeds data.dim = {dim}: the linear model uses the first p of the dim features"),
            ));
        }
        Ok(())
    }

    fn data(&self, d: &DataTable) -> Result<DataSpec, SpecError> {
        let Some(dataset) = &d.dataset else {
            return Err(SpecError::missing(
                "data.dataset",
                "name a shipped dataset (digits, mnist1d, mnist1d-large, mnist10k), `file`, `teacher`, `gaussian_mixture` or `gaussian_linear`",
            ));
        };
        let synthetic_keys =
            [("data.pool", d.pool.is_some()), ("data.dim", d.dim.is_some()), ("data.classes", d.classes.is_some())];
        let file_keys = [
            ("data.format", d.format.is_some()),
            ("data.train", d.train.is_some()),
            ("data.test", d.test.is_some()),
            ("data.train_labels", d.train_labels.is_some()),
            ("data.test_labels", d.test_labels.is_some()),
        ];
        let regression_keys = [("data.signal", d.signal.is_some()), ("data.noise_variance", d.noise_variance.is_some())];
        let kind = dataset.get_ref().as_str();
        if kind != "gaussian_linear"
            && let Some((key, _)) = regression_keys.iter().find(|(_, set)| *set)
        {
            return Err(self.bad_spanned(dataset, key, format!("applies to gaussian_linear only, not to dataset `{kind}`")));
        }
        let reject = |keys: &[(&str, bool)], why: &str| -> Result<(), SpecError> {
            match keys.iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(self.bad_spanned(dataset, key, format!("does not apply to dataset `{kind}` ({why})"))),
                None => Ok(()),
            }
        };
        let source = match kind {
            "file" => {
                reject(&synthetic_keys, "it is for synthetic datasets")?;
                let Some(format) = d.format else {
                    return Err(self.bad_spanned(
                        dataset,
                        "data.format",
                        "is required with dataset = \"file\" (csv, idx or npy)",
                    ));
                };
                let Some(train) = &d.train else {
                    return Err(self.bad_spanned(dataset, "data.train", "is required with dataset = \"file\""));
                };
                let needs_labels = format != FileFormat::Csv;
                let files =
                    |features: &Spanned<std::path::PathBuf>, labels: &Option<Spanned<std::path::PathBuf>>, key: &str| match (
                        needs_labels,
                        labels,
                    ) {
                        (true, None) => {
                            Err(self.bad_spanned(features, key, format!("is required with format = \"{}\"", format_name(format))))
                        }
                        (false, Some(l)) => Err(self.bad_spanned(l, key, "does not apply to csv (the label is a column)")),
                        _ => Ok(DataFiles {
                            features: features.get_ref().clone(),
                            labels: labels.as_ref().map(|l| l.get_ref().clone()),
                        }),
                    };
                let train = files(train, &d.train_labels, "data.train_labels")?;
                let test = match &d.test {
                    Some(t) => Some(files(t, &d.test_labels, "data.test_labels")?),
                    None => match &d.test_labels {
                        Some(l) => return Err(self.bad_spanned(l, "data.test_labels", "given without data.test")),
                        None => None,
                    },
                };
                DatasetSource::File { format, train, test }
            }
            "gaussian_linear" => {
                reject(&file_keys, "it is for dataset = \"file\"")?;
                if let Some(c) = &d.classes {
                    return Err(self.bad_spanned(
                        c,
                        "data.classes",
                        "does not apply to gaussian_linear (its targets are real numbers)",
                    ));
                }
                for (key, set) in [("data.teacher_width", d.teacher_width.is_some()), ("data.separation", d.separation.is_some())]
                {
                    if set {
                        return Err(self.bad_spanned(dataset, key, "does not apply to gaussian_linear"));
                    }
                }
                DatasetSource::GaussianLinear {
                    pool: self.count(&d.pool, "data.pool", documented("data.pool"), MIN_PROBE_INPUTS as i64)?,
                    dim: self.count(&d.dim, "data.dim", documented("data.dim"), 1)?,
                    signal: self.real(&d.signal, "data.signal", documented("data.signal"), |x| x >= 0.0, ">= 0")?,
                    noise_variance: self.real(
                        &d.noise_variance,
                        "data.noise_variance",
                        documented("data.noise_variance"),
                        |x| x >= 0.0,
                        ">= 0",
                    )?,
                    seed: d.generator_seed.unwrap_or_else(|| documented("data.generator_seed")),
                }
            }
            "teacher" | "gaussian_mixture" => {
                reject(&file_keys, "it is for dataset = \"file\"")?;
                let pool = self.count(&d.pool, "data.pool", documented("data.pool"), 2)?;
                let dim = self.count(&d.dim, "data.dim", documented("data.dim"), 1)?;
                let classes = self.count(&d.classes, "data.classes", documented("data.classes"), 2)?;
                let seed = d.generator_seed.unwrap_or_else(|| documented("data.generator_seed"));
                if kind == "teacher" {
                    if let Some(s) = &d.separation {
                        return Err(self.bad_spanned(s, "data.separation", "applies to gaussian_mixture only"));
                    }
                    let teacher_width =
                        self.count(&d.teacher_width, "data.teacher_width", documented("data.teacher_width"), 1)?;
                    DatasetSource::Teacher { pool, dim, classes, teacher_width, seed }
                } else {
                    if let Some(w) = &d.teacher_width {
                        return Err(self.bad_spanned(w, "data.teacher_width", "applies to teacher only"));
                    }
                    let separation =
                        self.real(&d.separation, "data.separation", documented("data.separation"), |x| x > 0.0, "> 0")?;
                    DatasetSource::GaussianMixture { pool, dim, classes, separation, seed }
                }
            }
            shipped => {
                if !SHIPPED_DATASETS.iter().any(|(n, _)| *n == shipped) {
                    let names: Vec<_> = SHIPPED_DATASETS.iter().map(|(n, _)| *n).collect();
                    return Err(self.bad_spanned(
                        dataset,
                        "data.dataset",
                        format!(
                            "unknown dataset `{shipped}`: expected one of {}, file, teacher, gaussian_mixture, gaussian_linear",
                            names.join(", ")
                        ),
                    ));
                }
                reject(&file_keys, "it is for dataset = \"file\"")?;
                reject(&synthetic_keys, "it is for synthetic datasets")?;
                DatasetSource::Shipped { name: shipped.to_string() }
            }
        };
        let n_test = match &d.n_test {
            None => None,
            // The value is there (`Some`): the default passed is never used.
            Some(_) => Some(self.count(&d.n_test, "data.n_test", 0, MIN_PROBE_INPUTS as i64)?),
        };
        // The known answer of gaussian_linear holds for the raw N(0, I) inputs: standardising with training
        // statistics would change the model the theory describes.
        let standardize = match (&d.standardize, source.is_regression()) {
            (Some(s), true) if *s.get_ref() != Standardize::None => {
                return Err(self.bad_spanned(
                    s,
                    "data.standardize",
                    "must be \"none\" for gaussian_linear (its closed-form risk is for the raw N(0, I) inputs)",
                ));
            }
            (Some(s), _) => *s.get_ref(),
            (None, true) => Standardize::None,
            (None, false) => documented("data.standardize"),
        };
        if let (Some(n), DatasetSource::GaussianLinear { pool, .. }) = (n_test, &source)
            && n > *pool
        {
            let span = d.n_test.as_ref().map(|v| v.span()).unwrap_or(0..0);
            return Err(self.bad(
                span,
                "data.n_test",
                format!("is {n} but gaussian_linear draws a test pool of data.pool = {pool}"),
            ));
        }
        Ok(DataSpec { dataset: source, n_test, standardize })
    }

    fn conditions(&self, file: &ExperimentFile) -> Result<Vec<Condition>, SpecError> {
        let d = &file.data;
        let c = file.conditions.as_ref();
        // A key set in both places would be silently overridden by the conditions: refuse the pair.
        if let (Some(list), Some(_)) = (c.and_then(|c| c.n_train.as_ref()), &d.n_train) {
            return Err(self.bad_spanned(
                list,
                "conditions.n_train",
                "and data.n_train are both set: keep one (conditions.n_train lists every size)",
            ));
        }
        if let (Some(list), Some(_)) = (c.and_then(|c| c.label_noise.as_ref()), &d.label_noise) {
            return Err(self.bad_spanned(
                list,
                "conditions.label_noise",
                "and data.label_noise are both set: keep one (conditions.label_noise lists every level)",
            ));
        }
        if let (Some(list), Some(_)) = (c.and_then(|c| c.data_seed.as_ref()), &file.data_seed) {
            return Err(self.bad_spanned(
                list,
                "conditions.data_seed",
                "and data_seed are both set: keep one (conditions.data_seed lists every data draw)",
            ));
        }
        let n_list: Vec<usize> = match c.and_then(|c| c.n_train.as_ref()) {
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.bad_spanned(list, "conditions.n_train", "is empty"));
                }
                if let Some(n) = list.get_ref().iter().find(|n| **n < 1) {
                    return Err(self.bad_spanned(list, "conditions.n_train", format!("must be >= 1, got {n}")));
                }
                list.get_ref().iter().map(|n| *n as usize).collect()
            }
            None => match &d.n_train {
                Some(_) => vec![self.count(&d.n_train, "data.n_train", 0, 1)?],
                None => return Err(SpecError::missing("data.n_train", "how many training examples to draw")),
            },
        };
        let noise_ok = |p: f64| p.is_finite() && (0.0..1.0).contains(&p);
        let p_list: Vec<f64> = match c.and_then(|c| c.label_noise.as_ref()) {
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.bad_spanned(list, "conditions.label_noise", "is empty"));
                }
                if let Some(p) = list.get_ref().iter().find(|p| !noise_ok(**p)) {
                    return Err(self.bad_spanned(list, "conditions.label_noise", format!("must be in [0, 1), got {p}")));
                }
                list.get_ref().clone()
            }
            None => vec![self.real(&d.label_noise, "data.label_noise", documented("data.label_noise"), noise_ok, "in [0, 1)")?],
        };
        let e_list: Vec<Option<usize>> = match c.and_then(|c| c.epochs.as_ref()) {
            Some(list) => {
                if file.train.epochs.is_some() {
                    return Err(self.bad_spanned(
                        list,
                        "conditions.epochs",
                        "and train.epochs are both set: keep one (conditions.epochs lists every budget)",
                    ));
                }
                if list.get_ref().is_empty() {
                    return Err(self.bad_spanned(list, "conditions.epochs", "is empty"));
                }
                if let Some(e) = list.get_ref().iter().find(|e| **e < 1) {
                    return Err(self.bad_spanned(list, "conditions.epochs", format!("must be >= 1, got {e}")));
                }
                list.get_ref().iter().map(|e| Some(*e as usize)).collect()
            }
            None => vec![None],
        };
        let d_list: Vec<Option<u64>> = match c.and_then(|c| c.data_seed.as_ref()) {
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.bad_spanned(list, "conditions.data_seed", "is empty"));
                }
                if let Some(d) = list.get_ref().iter().find(|d| **d < 0) {
                    return Err(self.bad_spanned(list, "conditions.data_seed", format!("must be >= 0, got {d}")));
                }
                let seeds: Vec<u64> = list.get_ref().iter().map(|d| *d as u64).collect();
                if let Some(d) = seeds.iter().enumerate().find(|(i, d)| seeds[..*i].contains(d)).map(|(_, d)| d) {
                    return Err(self.bad_spanned(list, "conditions.data_seed", format!("lists data draw {d} twice")));
                }
                seeds.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        let InterventionAxes { scales, centring, parameterisations } = self.interventions(file)?;
        let mut out = Vec::new();
        for &n_train in &n_list {
            for &label_noise in &p_list {
                for &epochs in &e_list {
                    for &centred in &centring {
                        for &output_scale in &scales {
                            for &parameterisation in &parameterisations {
                                for &data_seed in &d_list {
                                    let cond = Condition {
                                        n_train,
                                        label_noise,
                                        epochs,
                                        data_seed,
                                        output_scale,
                                        centred,
                                        parameterisation,
                                    };
                                    if out.contains(&cond) {
                                        let span = c
                                            .and_then(|c| c.n_train.as_ref().or(c.epochs.as_ref()))
                                            .map(|s| s.span())
                                            .unwrap_or(0..0);
                                        return Err(self.bad(
                                            span,
                                            "conditions",
                                            format!("condition {} appears twice", cond.label()),
                                        ));
                                    }
                                    out.push(cond);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The output scales, centrings and parameterisations crossed with the other conditions
    /// (docs/SCIENCE.md, Models, data and training: interventions, parameterisations): `conditions.*`
    /// lists, or the one `model.*` value, or the plain network.
    fn interventions(&self, file: &ExperimentFile) -> Result<InterventionAxes, SpecError> {
        let (m, c) = (&file.model, file.conditions.as_ref());
        let scale_ok = |a: f64| a.is_finite() && a > 0.0;
        let scales = match (c.and_then(|c| c.output_scale.as_ref()), &m.output_scale) {
            (Some(list), Some(_)) => {
                return Err(self.bad_spanned(
                    list,
                    "conditions.output_scale",
                    "and model.output_scale are both set: keep one (conditions.output_scale lists every scale)",
                ));
            }
            (Some(list), None) => {
                let values = list.get_ref();
                if values.is_empty() {
                    return Err(self.bad_spanned(list, "conditions.output_scale", "is empty"));
                }
                if let Some(a) = values.iter().find(|a| !scale_ok(**a)) {
                    return Err(self.bad_spanned(list, "conditions.output_scale", format!("must be finite and > 0, got {a}")));
                }
                if let Some(a) = values.iter().enumerate().find(|(i, a)| values[..*i].contains(a)).map(|(_, a)| a) {
                    return Err(self.bad_spanned(list, "conditions.output_scale", format!("lists scale {a} twice")));
                }
                values.clone()
            }
            (None, value) => {
                vec![self.real(value, "model.output_scale", documented("model.output_scale"), scale_ok, "finite and > 0")?]
            }
        };
        let centring = match (c.and_then(|c| c.centred.as_ref()), &m.centred) {
            (Some(list), Some(_)) => {
                return Err(self.bad_spanned(
                    list,
                    "conditions.centred",
                    "and model.centred are both set: keep one (conditions.centred lists both choices)",
                ));
            }
            (Some(list), None) => {
                let values = list.get_ref();
                if values.is_empty() {
                    return Err(self.bad_spanned(list, "conditions.centred", "is empty"));
                }
                if values.len() == 2 && values[0] == values[1] {
                    return Err(self.bad_spanned(list, "conditions.centred", format!("lists {} twice", values[0])));
                }
                values.clone()
            }
            (None, value) => vec![value.as_ref().map_or_else(|| documented("model.centred"), |v| *v.get_ref())],
        };
        let named = |name: &Spanned<String>, key: &str| -> Result<Parameterisation, SpecError> {
            Parameterisation::from_name(name.get_ref()).ok_or_else(|| {
                self.bad_spanned(
                    name,
                    key,
                    format!("unknown parameterisation `{}`: expected standard, ntk or mean_field", name.get_ref()),
                )
            })
        };
        let parameterisations = match (c.and_then(|c| c.parameterisation.as_ref()), &m.parameterisation) {
            (Some(list), Some(_)) => {
                return Err(self.bad_spanned(
                    list,
                    "conditions.parameterisation",
                    "and model.parameterisation are both set: keep one (conditions.parameterisation lists every choice)",
                ));
            }
            (Some(list), None) => {
                if list.get_ref().is_empty() {
                    return Err(self.bad_spanned(list, "conditions.parameterisation", "is empty"));
                }
                let mut values = Vec::new();
                for name in list.get_ref() {
                    let p = Parameterisation::from_name(name).ok_or_else(|| {
                        self.bad_spanned(
                            list,
                            "conditions.parameterisation",
                            format!("unknown parameterisation `{name}`: expected standard, ntk or mean_field"),
                        )
                    })?;
                    if values.contains(&p) {
                        return Err(self.bad_spanned(list, "conditions.parameterisation", format!("lists {name} twice")));
                    }
                    values.push(p);
                }
                values
            }
            (None, Some(name)) => vec![named(name, "model.parameterisation")?],
            (None, None) => vec![
                Parameterisation::from_name(&documented::<String>("model.parameterisation"))
                    .expect("the documented default is a parameterisation"),
            ],
        };
        Ok(InterventionAxes { scales, centring, parameterisations })
    }

    fn model(&self, file: &ExperimentFile) -> Result<ModelSpec, SpecError> {
        let m = &file.model;
        let kind = match &m.kind {
            None => ModelKind::Mlp,
            Some(k) => match k.get_ref().as_str() {
                "mlp" => ModelKind::Mlp,
                "linear" => ModelKind::Linear,
                "random_features" => ModelKind::RandomFeatures,
                other => {
                    return Err(self.bad_spanned(
                        k,
                        "model.kind",
                        format!("unknown model kind `{other}`: expected mlp, linear or random_features"),
                    ));
                }
            },
        };
        if kind.is_closed_form()
            && let Some(d) = &m.depth
        {
            return Err(self.bad_spanned(
                d,
                "model.depth",
                format!("does not apply to model.kind = \"{}\" (one layer of p features)", kind.name()),
            ));
        }
        if kind == ModelKind::Linear
            && let Some(i) = &m.init
        {
            return Err(self.bad_spanned(
                i,
                "model.init",
                "does not apply to model.kind = \"linear\" (it has no random weights)",
            ));
        }
        let ridge = match &m.ridge {
            Some(r) if kind.is_mlp() => {
                return Err(self.bad_spanned(r, "model.ridge", "applies to model.kind = \"linear\" or \"random_features\" only"));
            }
            _ => self.real(&m.ridge, "model.ridge", documented("model.ridge"), |x| x >= 0.0, ">= 0")?,
        };
        let depth = self.count(&m.depth, "model.depth", documented("model.depth"), 1)?;
        let widths = match &m.widths {
            None => match documented::<WidthsValue>("model.widths") {
                WidthsValue::Range(r) => geometric_widths(r.from as usize, r.to as usize, r.count as usize),
                WidthsValue::List(list) => list.iter().map(|w| *w as usize).collect(),
            },
            Some(spanned) => match spanned.get_ref() {
                WidthsValue::List(list) => {
                    if list.is_empty() {
                        return Err(self.bad_spanned(spanned, "model.widths", "is empty: give at least one width"));
                    }
                    if let Some(w) = list.iter().find(|w| **w < 1) {
                        return Err(self.bad_spanned(spanned, "model.widths", format!("every width must be >= 1, got {w}")));
                    }
                    let set: BTreeSet<usize> = list.iter().map(|w| *w as usize).collect();
                    if set.len() != list.len() {
                        return Err(self.bad_spanned(spanned, "model.widths", "has a repeated width"));
                    }
                    set.into_iter().collect()
                }
                WidthsValue::Range(r) => {
                    if r.from < 1 || r.to < r.from || r.count < 1 {
                        return Err(self.bad_spanned(
                            spanned,
                            "model.widths",
                            format!(
                                "needs 1 <= from <= to and count >= 1, got from = {}, to = {}, count = {}",
                                r.from, r.to, r.count
                            ),
                        ));
                    }
                    geometric_widths(r.from as usize, r.to as usize, r.count as usize)
                }
            },
        };
        let init = m.init.as_ref().map_or_else(|| documented("model.init"), |i| *i.get_ref());
        let weight_reuse = match &m.weight_reuse {
            Some(r) if !kind.is_mlp() => {
                return Err(self.bad_spanned(
                    r,
                    "model.weight_reuse",
                    format!("does not apply to model.kind = \"{}\" (fitted in closed form, not trained)", kind.name()),
                ));
            }
            Some(r) => *r.get_ref(),
            None => documented("model.weight_reuse"),
        };
        let base_width = match &m.base_width {
            Some(w) if *w.get_ref() < 1 => {
                return Err(self.bad_spanned(w, "model.base_width", format!("must be >= 1, got {}", w.get_ref())));
            }
            Some(w) => Some(*w.get_ref() as usize),
            None => None,
        };
        Ok(ModelSpec { kind, depth, widths, init, ridge, weight_reuse, base_width })
    }

    fn train(&self, file: &ExperimentFile) -> Result<TrainSpec, SpecError> {
        let t = &file.train;
        let unit = |x: f64| (0.0..1.0).contains(&x);
        let optimizer = match t.optimizer.as_ref().map(|o| (o, o.get_ref().as_str())) {
            None | Some((_, "adam")) => {
                if let Some(m) = &t.momentum {
                    return Err(self.bad_spanned(m, "train.momentum", "applies to sgd only (Adam uses beta1)"));
                }
                Optimizer::Adam {
                    beta1: self.real(&t.beta1, "train.beta1", 0.9, unit, "in [0, 1)")?,
                    beta2: self.real(&t.beta2, "train.beta2", 0.999, unit, "in [0, 1)")?,
                    eps: self.real(&t.eps, "train.eps", documented("train.eps"), |x| x > 0.0, "> 0")?,
                }
            }
            Some((_, "sgd")) => {
                for (key, value) in [("train.beta1", &t.beta1), ("train.beta2", &t.beta2), ("train.eps", &t.eps)] {
                    if let Some(v) = value {
                        return Err(self.bad_spanned(v, key, "applies to adam only"));
                    }
                }
                Optimizer::Sgd {
                    momentum: self.real(&t.momentum, "train.momentum", documented("train.momentum"), unit, "in [0, 1)")?,
                }
            }
            Some((o, other)) => {
                return Err(self.bad_spanned(o, "train.optimizer", format!("unknown optimizer `{other}`: expected adam or sgd")));
            }
        };
        let lr = self.real(&t.lr, "train.lr", documented("train.lr"), |x| x > 0.0, "> 0")?;
        let decay_every = self.count(&t.lr_decay_every, "train.lr_decay_every", documented("train.lr_decay_every"), 0)?;
        let decay_factor = self.real(
            &t.lr_decay_factor,
            "train.lr_decay_factor",
            documented("train.lr_decay_factor"),
            |x| x > 0.0 && x <= 1.0,
            "in (0, 1]",
        )?;
        let lr_decay = (decay_every > 0).then_some(LrDecay { every: decay_every, factor: decay_factor });
        let epochs = self.count(&t.epochs, "train.epochs", documented("train.epochs"), 1)?;
        let batch_size = match &t.batch_size {
            None => None,
            Some(b) => match b.get_ref() {
                BatchValue::Word(w) if w == "full" => None,
                BatchValue::Size(n) if *n >= 1 => Some(*n as usize),
                BatchValue::Size(n) => {
                    return Err(self.bad_spanned(b, "train.batch_size", format!("must be >= 1 or \"full\", got {n}")));
                }
                BatchValue::Word(w) => {
                    return Err(self.bad_spanned(
                        b,
                        "train.batch_size",
                        format!("must be a positive integer or \"full\", got \"{w}\""),
                    ));
                }
            },
        };
        Ok(TrainSpec {
            loss: t.loss.as_ref().map_or_else(|| documented("train.loss"), |l| *l.get_ref()),
            optimizer,
            lr,
            lr_decay,
            epochs,
            batch_size,
            eval_every: self.count(&t.eval_every, "train.eval_every", documented("train.eval_every"), 1)?,
            checkpoint_every: self.count(
                &t.checkpoint_every,
                "train.checkpoint_every",
                documented("train.checkpoint_every"),
                0,
            )?,
            intervention: Intervention::default(),
        })
    }

    fn probe(&self, file: &ExperimentFile) -> Result<ProbeSpec, SpecError> {
        let p = &file.probe;
        let q_grid = match &p.q_grid {
            None => documented("probe.q_grid"),
            Some(q) => {
                let list = q.get_ref();
                if list.is_empty() {
                    return Err(self.bad_spanned(q, "probe.q_grid", "is empty"));
                }
                if let Some(bad) = list.iter().find(|x| !(x.is_finite() && **x > 0.0 && **x < 1.0)) {
                    return Err(self.bad_spanned(q, "probe.q_grid", format!("every q must be in (0, 1), got {bad}")));
                }
                if list.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(self.bad_spanned(q, "probe.q_grid", "must be strictly increasing"));
                }
                list.clone()
            }
        };
        Ok(ProbeSpec {
            probe_set: self.count(&p.probe_set, "probe.probe_set", documented("probe.probe_set"), MIN_PROBE_INPUTS as i64)?,
            draws: self.count(&p.draws, "probe.draws", documented("probe.draws"), 1)?,
            q_grid,
            every: self.count(&p.every, "probe.every", documented("probe.every"), 0)?,
        })
    }
}

fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => "csv",
        FileFormat::Idx => "idx",
        FileFormat::Npy => "npy",
    }
}

/// `count` widths spaced geometrically from `from` to `to` (both included), rounded, duplicates dropped.
pub fn geometric_widths(from: usize, to: usize, count: usize) -> Vec<usize> {
    if count == 1 || from == to {
        return vec![from];
    }
    let ratio = (to as f64 / from as f64).ln() / (count - 1) as f64;
    let set: BTreeSet<usize> = (0..count).map(|i| ((from as f64) * (ratio * i as f64).exp()).round() as usize).collect();
    set.into_iter().collect()
}
