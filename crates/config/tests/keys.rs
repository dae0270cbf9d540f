//! README's key table, KEYS and the parser agree: every documented key parses, every key the parser
//! knows is documented, and every literal default in the table is the resolver's default.

use std::collections::BTreeMap;

use ddlab_config::*;

/// A valid experiment file for `dataset` that also sets the dotted `keys`.
fn doc(dataset: &str, keys: &[(&str, &str)]) -> String {
    let mut tables: BTreeMap<&str, String> = BTreeMap::new();
    let mut top = String::new();
    tables.entry("data").or_default().push_str(&format!("dataset = \"{dataset}\"\nn_train = 10\n"));
    for (key, value) in keys {
        match key.split_once('.') {
            Some((table, leaf)) => tables.entry(table).or_default().push_str(&format!("{leaf} = {value}\n")),
            None => top.push_str(&format!("{key} = {value}\n")),
        }
    }
    let mut text = top;
    for (table, body) in tables {
        text.push_str(&format!("[{table}]\n{body}"));
    }
    text
}

/// The dataset and settings under which a key applies.
fn context(key: &str) -> (&'static str, Vec<(&'static str, &'static str)>) {
    match key {
        "train.momentum" => ("digits", vec![("train.optimizer", "\"sgd\"")]),
        // The factor only exists in a schedule: without one the resolver drops it.
        "train.lr_decay_factor" => ("digits", vec![("train.lr_decay_every", "100")]),
        "data.pool" | "data.dim" | "data.classes" | "data.teacher_width" | "data.generator_seed" => ("teacher", vec![]),
        "data.separation" => ("gaussian_mixture", vec![]),
        "data.signal" | "data.noise_variance" => ("gaussian_linear", vec![("model.kind", "\"random_features\"")]),
        "model.ridge" => ("digits", vec![("model.kind", "\"linear\"")]),
        _ => ("digits", vec![]),
    }
}

#[test]
fn every_literal_default_is_the_resolvers_default() {
    for key in KEYS.iter().filter(|k| !k.default.starts_with('(')) {
        let (dataset, mut settings) = context(key.key);
        let without = doc(dataset, &settings);
        settings.push((key.key, key.default));
        let with_default = doc(dataset, &settings);
        let a = parse_spec(&with_default, "k").unwrap_or_else(|e| panic!("{}: {e}\n{with_default}", key.key));
        let b = parse_spec(&without, "k").unwrap_or_else(|e| panic!("{}: {e}\n{without}", key.key));
        assert_eq!(a, b, "the documented default of {} is not the resolver's", key.key);
    }
}

#[test]
fn every_key_the_parser_knows_is_documented() {
    for table in ["", "data", "model", "train", "conditions", "probe"] {
        let key = if table.is_empty() { "zzz".to_string() } else { format!("{table}.zzz") };
        let message = parse_spec(&doc("digits", &[(key.as_str(), "1")]), "k").unwrap_err().to_string();
        let expected = message.split("expected").nth(1).unwrap_or_else(|| panic!("no field list in: {message}"));
        let expected = expected.split(" (in `").next().unwrap();
        let fields: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(!fields.is_empty(), "{message}");
        for field in fields {
            let dotted = if table.is_empty() { field.to_string() } else { format!("{table}.{field}") };
            let is_table = ["data", "model", "train", "conditions", "probe"].contains(&dotted.as_str());
            assert!(is_table || KEYS.iter().any(|k| k.key == dotted), "{dotted} is accepted by the parser but missing from KEYS");
        }
    }
}

#[test]
fn every_documented_key_is_accepted() {
    for key in KEYS {
        let (dataset, settings) = context(key.key);
        let leaf = key.key.rsplit('.').next().unwrap();
        let mut with_key = settings.clone();
        with_key.push((if key.key.contains('.') { key.key } else { leaf }, "\"?\""));
        let probe = doc(dataset, &with_key);
        let message = parse_spec(&probe, "k").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("unknown field"), "{} is documented but the parser does not know it: {message}", key.key);
    }
}

#[test]
fn readme_key_table_is_generated_from_keys() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(readme.contains(&keys_markdown()), "README's key table is out of date: paste the output of `ddlab keys`");
}
