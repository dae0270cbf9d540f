//! The sweep's identity: SHA-256 over a canonical form of the resolved spec.
//!
//! Canonical form: the spec as JSON with object keys sorted at every level, no whitespace, numbers in
//! serde_json's shortest round-trip form, and the operational key `train.checkpoint_every` removed (it
//! changes no result). A field added to the spec later must be left out of serialisation while it holds
//! its default, so that sweeps made before it keep their names.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::spec::Spec;

/// The canonical text that is hashed.
pub fn canonical_form(spec: &Spec) -> String {
    let mut value = serde_json::to_value(spec).expect("a spec always serialises");
    if let Some(train) = value.get_mut("train").and_then(Value::as_object_mut) {
        train.remove("checkpoint_every");
    }
    let mut out = String::new();
    write_sorted(&value, &mut out);
    out
}

fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                write_sorted(&map[*key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// First 10 hex digits of SHA-256 over [`canonical_form`].
pub fn spec_hash(spec: &Spec) -> String {
    let digest = Sha256::digest(canonical_form(spec).as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// The sweep folder's name: `<name>-<spec_hash>`.
pub fn sweep_dir_name(spec: &Spec) -> String {
    format!("{}-{}", spec.name, spec_hash(spec))
}
