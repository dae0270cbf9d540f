//! Property tests of the experiment-file parser: whatever the text, it returns a spec or an error
//! that names a line or a key, and never panics.

use ddlab_config::parse_spec;
use proptest::prelude::*;

const VALID: &str = "name = \"f\"\nseeds = [0, 1]\n[data]\ndataset = \"digits\"\nn_train = 100\nlabel_noise = 0.1\n[model]\ndepth = 2\nwidths = { from = 1, to = 64, count = 7 }\n[train]\nloss = \"ce\"\nlr = 0.01\nbatch_size = 32\nepochs = 10\n[probe]\nq_grid = [0.1, 0.5]\n";

/// Values that TOML accepts and the spec may not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        "[a-z_]{0,8}".prop_map(|s| format!("\"{s}\"")),
        prop::collection::vec(-3i64..5000, 0..4).prop_map(|v| format!("{v:?}")),
        Just("{ from = 4, to = 1, count = 3 }".to_string()),
        Just("true".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse_spec(&text, "fuzz");
    }

    #[test]
    fn any_value_in_any_key_resolves_or_names_where(line in 0usize..17, v in value()) {
        let lines: Vec<&str> = VALID.lines().collect();
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            match (i == line, l.split_once(" = ")) {
                (true, Some((key, _))) => text.push_str(&format!("{key} = {v}\n")),
                _ => text.push_str(&format!("{l}\n")),
            }
        }
        if let Err(e) = parse_spec(&text, "fuzz") {
            let message = e.to_string();
            prop_assert!(message.contains("line") || message.contains("is missing"), "{}", message);
        }
    }
}
