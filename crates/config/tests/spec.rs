//! The experiment file: defaults, errors that say where, the sweep name's hash.

use ddlab_config::*;

const MINIMAL: &str = "[data]\ndataset = \"digits\"\nn_train = 100\n";

fn error(text: &str) -> String {
    parse_spec(text, "t").expect_err("the file is invalid").to_string()
}

#[test]
fn minimal_file_resolves_to_documented_defaults() {
    let spec = parse_spec(MINIMAL, "minimal").unwrap();
    assert_eq!(spec.name, "minimal");
    assert_eq!(spec.seeds, vec![0, 1, 2]);
    assert_eq!(spec.conditions, vec![Condition::new(100, 0.0)]);
    assert_eq!(spec.model.depth, 1);
    assert_eq!(spec.model.widths, geometric_widths(1, 1024, 21));
    assert_eq!(spec.train.loss, Loss::Mse);
    assert_eq!(spec.train.optimizer, Optimizer::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    assert_eq!(spec.train.batch_size, None);
    assert_eq!(spec.data.standardize, Standardize::Feature);
}

#[test]
fn geometric_widths_span_the_range_without_duplicates() {
    let w = geometric_widths(1, 1024, 11);
    assert_eq!(w, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    let dense = geometric_widths(1, 8, 20);
    assert_eq!(dense, (1..=8).collect::<Vec<_>>());
}

#[test]
fn conditions_cross_sizes_and_noise() {
    let spec =
        parse_spec("[data]\ndataset = \"digits\"\n[conditions]\nn_train = [100, 200]\nlabel_noise = [0.0, 0.2]\n", "c").unwrap();
    assert_eq!(spec.conditions.len(), 4);
    assert_eq!(spec.conditions[3], Condition::new(200, 0.2));
    assert_eq!(spec.conditions[3].label(), "n200-noise0.2");
    assert_eq!(spec.runs().len(), 4 * spec.model.widths.len() * 3);
}

#[test]
fn conditions_cross_epoch_budgets() {
    let text = "[data]\ndataset = \"digits\"\n[conditions]\nn_train = [100, 200]\nepochs = [50, 400]\n[train]\neval_every = 10\n";
    let spec = parse_spec(text, "e").unwrap();
    assert_eq!(spec.conditions.len(), 4);
    assert_eq!(spec.conditions[1], Condition { epochs: Some(400), ..Condition::new(100, 0.0) });
    assert_eq!(spec.conditions[1].label(), "n100-noise0-e400");
    assert_eq!(spec.train_for(&spec.conditions[0]).epochs, 50);
    assert_eq!(spec.train_for(&spec.conditions[1]).epochs, 400);
    assert_eq!(spec.train.epochs, 400, "train.epochs is the largest budget");
    // Without budgets the hash is what it was before conditions.epochs existed: see
    // sweep_hash_of_committed_spec_is_stable.
    let e = error("[data]\ndataset = \"digits\"\nn_train = 10\n[conditions]\nepochs = [10]\n[train]\nepochs = 5\n");
    assert!(e.contains("conditions.epochs and train.epochs are both set"), "{e}");
    let e = error("[data]\ndataset = \"digits\"\nn_train = 10\n[conditions]\nepochs = [10, 0]\n");
    assert!(e.contains("conditions.epochs must be >= 1, got 0"), "{e}");
    let e = error("[data]\ndataset = \"digits\"\nn_train = 10\n[conditions]\nepochs = [10, 10]\n");
    assert!(e.contains("appears twice"), "{e}");
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let e = error("[data]\ndataset = \"digits\"\nn_train = 100\n\n[model]\nwidht = [1]\n");
    assert!(e.contains("line 6") && e.contains("widht"), "{e}");
}

#[test]
fn width_zero_is_named_with_its_line() {
    let e = error(&format!("{MINIMAL}[model]\nwidths = [1, 0, 4]\n"));
    assert!(e.contains("line 5") && e.contains("model.widths") && e.contains(">= 1"), "{e}");
}

#[test]
fn bad_values_name_their_key() {
    for (extra, key) in [
        ("[train]\nlr = -0.1\n", "train.lr"),
        ("[train]\nepochs = 0\n", "train.epochs"),
        ("[train]\nbatch_size = \"half\"\n", "train.batch_size"),
        ("[train]\noptimizer = \"lbfgs\"\n", "train.optimizer"),
        ("[model]\nwidths = []\n", "model.widths"),
        ("[model]\ndepth = 0\n", "model.depth"),
        ("[probe]\nq_grid = [0.5, 0.25]\n", "probe.q_grid"),
        ("seeds = [1, 1]\n", "seeds"),
    ] {
        let text = if extra.starts_with('[') { format!("{MINIMAL}{extra}") } else { format!("{extra}{MINIMAL}") };
        let e = error(&text);
        assert!(e.contains(key) && e.contains("line"), "{key}: {e}");
    }
}

#[test]
fn noise_of_one_or_more_is_refused() {
    let e = error("[data]\ndataset = \"digits\"\nn_train = 100\nlabel_noise = 1.0\n");
    assert!(e.contains("data.label_noise") && e.contains("line 4"), "{e}");
}

#[test]
fn missing_dataset_and_size_are_named() {
    assert!(error("[data]\nn_train = 5\n").contains("data.dataset"));
    assert!(error("[data]\ndataset = \"digits\"\n").contains("data.n_train"));
    assert!(error("[data]\ndataset = \"cifar\"\nn_train = 5\n").contains("unknown dataset"));
}

#[test]
fn syntax_error_names_its_line() {
    let e = error("[data]\ndataset = \"digits\nn_train = 100\n");
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[model]\nwidths = [0]\n[data]\ndataset = \"digits\"\nn_train = 3\n").unwrap();
    let e = load_spec(&path).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:2:", path.display())), "{e}");
    let missing = load_spec(&dir.path().join("none.toml")).unwrap_err().to_string();
    assert!(missing.contains("none.toml"), "{missing}");
}

/// The sweep folder name of a committed spec is a committed string: the hash must never drift.
#[test]
fn sweep_hash_of_committed_spec_is_stable() {
    let text = include_str!("hash-spec.toml");
    let spec = parse_spec(text, "unused").unwrap();
    assert_eq!(sweep_dir_name(&spec), include_str!("hash-spec.expected").trim());
}

#[test]
fn checkpoint_interval_does_not_rename_the_sweep() {
    let a = parse_spec(MINIMAL, "a").unwrap();
    let b = parse_spec(&format!("{MINIMAL}[train]\ncheckpoint_every = 7\n"), "a").unwrap();
    assert_eq!(spec_hash(&a), spec_hash(&b));
    let c = parse_spec(&format!("{MINIMAL}[train]\nepochs = 7\n"), "a").unwrap();
    assert_ne!(spec_hash(&a), spec_hash(&c));
}

#[test]
fn resolved_spec_round_trips_through_toml() {
    let spec = parse_spec("[data]\ndataset = \"teacher\"\ndim = 5\n[conditions]\nn_train = [10, 20]\nlabel_noise = [0.1]\n[train]\nbatch_size = 8\noptimizer = \"sgd\"\nlr_decay_every = 3\n", "rt").unwrap();
    let text = toml::to_string(&spec).unwrap();
    let back: Spec = toml::from_str(&text).unwrap();
    assert_eq!(back, spec);
    assert_eq!(spec_hash(&back), spec_hash(&spec));
}

#[test]
fn conditions_cross_data_draws() {
    let text = "[data]\ndataset = \"digits\"\nn_train = 100\nlabel_noise = 0.2\n[conditions]\ndata_seed = [3, 7]\n";
    let spec = parse_spec(text, "d").unwrap();
    assert_eq!(spec.conditions.len(), 2);
    assert_eq!(spec.conditions[1].label(), "n100-noise0.2-d7");
    assert_eq!(spec.conditions[1].setting(), "n100-noise0.2");
    assert_eq!(spec.data_seed_for(&spec.conditions[0]), 3);
    // Without draws a condition uses the spec's data_seed and its label is unchanged.
    let plain = parse_spec("[data]\ndataset = \"digits\"\nn_train = 100\n", "p").unwrap();
    assert_eq!(plain.conditions[0].label(), "n100-noise0");
    assert_eq!(plain.data_seed_for(&plain.conditions[0]), plain.data_seed);
    for (list, message) in [
        ("[]", "conditions.data_seed is empty"),
        ("[1, -2]", "conditions.data_seed must be >= 0, got -2"),
        ("[4, 4]", "conditions.data_seed lists data draw 4 twice"),
    ] {
        let e = error(&format!("[data]\ndataset = \"digits\"\nn_train = 10\n[conditions]\ndata_seed = {list}\n"));
        assert!(e.contains(message), "{e}");
    }
}

/// A run key carries its condition's index: keys compare, order and hash by (index, width, seed), in the
/// order of `Spec::runs`, and `run_key` rebuilds the same key.
#[test]
fn run_keys_are_ordered_and_hashed_by_condition_index_width_and_seed() {
    let text = "seeds = [0, 1]\n[data]\ndataset = \"digits\"\n[conditions]\nn_train = [100, 200]\nlabel_noise = [0.0, 0.1]\n[model]\nwidths = [2, 4]\n";
    let spec = parse_spec(text, "k").unwrap();
    let runs = spec.runs();
    assert_eq!(runs.len(), 4 * 2 * 2);
    let mut sorted = runs.clone();
    sorted.sort();
    assert_eq!(sorted, runs, "Spec::runs is in key order");
    assert_eq!(runs.iter().collect::<std::collections::HashSet<_>>().len(), runs.len());
    for key in &runs {
        assert_eq!(spec.run_name(key), format!("{}/w{}-s{}", spec.conditions[key.index].label(), key.width, key.seed));
        assert_eq!(spec.run_key(key.index, key.width, key.seed), *key);
    }
    assert!(spec.run_key(0, 4, 1) < spec.run_key(1, 2, 0), "the condition orders first");
}

/// Interventions cross the other conditions, name their condition, reach the training spec, and leave a
/// spec that does not use them (or spells out their defaults) with its hash.
#[test]
fn interventions_cross_the_conditions_and_keep_the_plain_hash() {
    let text = "[data]\ndataset = \"digits\"\nn_train = 100\n[conditions]\ncentred = [false, true]\noutput_scale = [1.0, 4.0]\ndata_seed = [0, 1]\n";
    let spec = parse_spec(text, "i").unwrap();
    let labels: Vec<String> = spec.conditions.iter().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        [
            "n100-noise0-d0",
            "n100-noise0-d1",
            "n100-noise0-a4-d0",
            "n100-noise0-a4-d1",
            "n100-noise0-centred-d0",
            "n100-noise0-centred-d1",
            "n100-noise0-centred-a4-d0",
            "n100-noise0-centred-a4-d1"
        ]
    );
    assert_eq!(spec.conditions[6].setting(), "n100-noise0-centred-a4");
    let train = spec.train_for(&spec.conditions[6]);
    assert_eq!(train.intervention, Intervention { output_scale: 4.0, centred: true, ..Intervention::default() });
    assert!(spec.train.intervention.is_plain());
    let round_trip: Spec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
    assert_eq!(round_trip, spec);

    let plain = parse_spec(MINIMAL, "m").unwrap();
    let spelled = parse_spec(&format!("{MINIMAL}[model]\noutput_scale = 1.0\ncentred = false\n"), "m").unwrap();
    assert_eq!(spec_hash(&plain), spec_hash(&spelled));
    assert!(!toml::to_string(&plain).unwrap().contains("output_scale"));
    let model_keys = parse_spec(&format!("{MINIMAL}[model]\noutput_scale = 0.5\ncentred = true\n"), "m").unwrap();
    assert_eq!(model_keys.conditions[0].label(), "n100-noise0-centred-a0.5");
    assert_ne!(spec_hash(&plain), spec_hash(&model_keys));
}

/// Parameterisations cross the other conditions after the output scale, carry the base width into the
/// training spec, and spelling out `standard` keeps the plain hash.
#[test]
fn parameterisations_cross_the_conditions_with_their_base_width() {
    let text = "[data]\ndataset = \"digits\"\nn_train = 100\n[model]\nbase_width = 16\n[conditions]\nparameterisation = [\"standard\", \"ntk\", \"mean_field\"]\noutput_scale = [1.0, 2.0]\n";
    let spec = parse_spec(text, "p").unwrap();
    let labels: Vec<String> = spec.conditions.iter().map(|c| c.label()).collect();
    assert_eq!(
        labels,
        ["n100-noise0", "n100-noise0-ntk", "n100-noise0-mf", "n100-noise0-a2", "n100-noise0-a2-ntk", "n100-noise0-a2-mf"]
    );
    let train = spec.train_for(&spec.conditions[4]);
    assert_eq!(
        train.intervention,
        Intervention { output_scale: 2.0, centred: false, parameterisation: Parameterisation::Ntk, base_width: Some(16) }
    );
    assert_eq!(spec.train_for(&spec.conditions[3]).intervention.base_width, None, "standard needs no base width");
    let round_trip: Spec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
    assert_eq!(round_trip, spec);
    let plain = parse_spec(MINIMAL, "m").unwrap();
    let spelled = parse_spec(&format!("{MINIMAL}[model]\nparameterisation = \"standard\"\n"), "m").unwrap();
    assert_eq!(spec_hash(&plain), spec_hash(&spelled));
    let mf = parse_spec(&format!("{MINIMAL}[model]\nparameterisation = \"mean_field\"\nbase_width = 8\n"), "m").unwrap();
    assert_eq!(mf.conditions[0].label(), "n100-noise0-mf");
    assert_eq!(mf.model.base_width, Some(8));
    let other_base = parse_spec(&format!("{MINIMAL}[model]\nparameterisation = \"mean_field\"\nbase_width = 4\n"), "m").unwrap();
    assert_ne!(spec_hash(&mf), spec_hash(&other_base), "the base width is part of the experiment");
}

#[test]
fn bad_interventions_name_their_key() {
    for (extra, expect) in [
        ("[model]\noutput_scale = 0.0\n", "model.output_scale must be finite and > 0, got 0"),
        ("[model]\noutput_scale = -1.0\n", "model.output_scale must be finite and > 0, got -1"),
        ("[model]\noutput_scale = inf\n", "model.output_scale must be finite and > 0, got inf"),
        ("[conditions]\noutput_scale = []\n", "conditions.output_scale is empty"),
        ("[conditions]\noutput_scale = [2.0, 2.0]\n", "conditions.output_scale lists scale 2 twice"),
        ("[conditions]\ncentred = [true, true]\n", "conditions.centred lists true twice"),
        ("[conditions]\ncentred = []\n", "conditions.centred is empty"),
        ("[model]\ncentred = true\n[conditions]\ncentred = [false, true]\n", "conditions.centred and model.centred are both set"),
        (
            "[model]\noutput_scale = 2.0\n[conditions]\noutput_scale = [1.0]\n",
            "conditions.output_scale and model.output_scale are both set",
        ),
        ("[model]\ncentred = \"yes\"\n", "centred"),
        (
            "[model]\nkind = \"random_features\"\noutput_scale = 2.0\n",
            "model.output_scale does not apply to model.kind = \"random_features\"",
        ),
        ("[model]\nweight_reuse = true\noutput_scale = 2.0\n", "model.output_scale does not combine with model.weight_reuse"),
        (
            "[model]\nparameterisation = \"mup\"\n",
            "model.parameterisation unknown parameterisation `mup`: expected standard, ntk or mean_field",
        ),
        (
            "[conditions]\nparameterisation = [\"standard\", \"NTK\"]\n",
            "conditions.parameterisation unknown parameterisation `NTK`",
        ),
        ("[conditions]\nparameterisation = []\n", "conditions.parameterisation is empty"),
        (
            "[model]\nbase_width = 8\n[conditions]\nparameterisation = [\"ntk\", \"ntk\"]\n",
            "conditions.parameterisation lists ntk twice",
        ),
        ("[model]\nparameterisation = \"ntk\"\n", "model.parameterisation `ntk` needs model.base_width"),
        (
            "[conditions]\nparameterisation = [\"standard\", \"mean_field\"]\n",
            "conditions.parameterisation `mean_field` needs model.base_width",
        ),
        ("[model]\nbase_width = 8\n", "model.base_width is used only by the ntk and mean_field parameterisations"),
        ("[model]\nparameterisation = \"ntk\"\nbase_width = 0\n", "model.base_width must be >= 1, got 0"),
        (
            "[model]\nparameterisation = \"ntk\"\nbase_width = 8\nweight_reuse = true\n",
            "model.parameterisation does not combine with model.weight_reuse",
        ),
        (
            "[model]\nkind = \"linear\"\nparameterisation = \"ntk\"\nbase_width = 8\n",
            "model.parameterisation does not apply to model.kind = \"linear\"",
        ),
        (
            "[model]\nparameterisation = \"ntk\"\nbase_width = 8\n[conditions]\nparameterisation = [\"ntk\"]\n",
            "conditions.parameterisation and model.parameterisation are both set",
        ),
    ] {
        let message = error(&format!("{MINIMAL}{extra}"));
        assert!(message.contains(expect), "{extra:?}: {message}");
        assert!(message.contains("line "), "{extra:?} names no line: {message}");
    }
}
