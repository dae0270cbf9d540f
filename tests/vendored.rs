//! vendor/burn-flex is the crates.io package burn-flex 0.22.1, plus the changes in
//! vendor/burn-flex.diff (two files) and the two licence files, and nothing else: every file's sha256 matches the
//! manifest of the published package (vendor/burn-flex-0.22.1.sha256, written and checked against
//! crates.io by scripts/verify-vendored.sh), each patched file once its part of the diff is taken back out.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, base, out);
        } else {
            out.push(path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_vendored_burn_flex_is_the_published_crate_plus_its_diff() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor");
    let tree = root.join("burn-flex");
    let manifest: BTreeMap<String, String> = std::fs::read_to_string(root.join("burn-flex-0.22.1.sha256"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (hash, path) = l.split_once("  ").expect("sha256sum format");
            (path.to_string(), hash.to_string())
        })
        .collect();
    assert!(manifest.len() > 40 && manifest.contains_key("src/tensor.rs"), "{} files", manifest.len());
    let diff = std::fs::read_to_string(root.join("burn-flex.diff")).unwrap();
    // One unified diff per changed file, each starting at its `--- a/` line (diffy reads one file's).
    let mut starts: Vec<usize> =
        diff.match_indices("--- a/").map(|(i, _)| i).filter(|&i| i == 0 || diff.as_bytes()[i - 1] == b'\n').collect();
    starts.push(diff.len());
    let patches: BTreeMap<String, diffy::Patch<str>> = starts
        .windows(2)
        .map(|w| {
            let patch = diffy::Patch::from_str(&diff[w[0]..w[1]]).expect("a unified diff");
            let path = patch.modified().and_then(|p| p.strip_prefix("b/")).expect("a b/ path").to_string();
            (path, patch)
        })
        .collect();
    let patched: Vec<&str> = patches.keys().map(String::as_str).collect();
    assert_eq!(patched, ["src/ops/matmul.rs", "src/tensor.rs"], "the files the diff changes");

    let mut present = Vec::new();
    files(&tree, &tree, &mut present);
    let extra: Vec<&String> = present.iter().filter(|f| !manifest.contains_key(*f)).collect();
    assert_eq!(extra, ["LICENSE-APACHE", "LICENSE-MIT"], "files the published package does not have");
    for (path, hash) in &manifest {
        let bytes = std::fs::read(tree.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let original = if let Some(patch) = patches.get(path) {
            let text = String::from_utf8(bytes).unwrap();
            assert_ne!(sha256(text.as_bytes()), *hash, "{path} is not patched");
            diffy::apply(&text, &patch.reverse()).expect("the diff takes back out").into_bytes()
        } else {
            bytes
        };
        assert_eq!(sha256(&original), *hash, "{path} differs from the published package");
    }
}
