//! Property tests of the dataset parsers: arbitrary bytes give a dataset or an error naming the file,
//! never a panic or an attempt to allocate what the file does not hold.

use std::io::Write;

use ddlab_data::{load_csv, load_idx, load_npy};
use proptest::prelude::*;

fn file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn csv_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "f.csv", &body);
        if let Err(e) = load_csv(&path) {
            prop_assert!(e.to_string().contains("f.csv"));
        }
    }

    #[test]
    fn csv_like_text_never_panics(text in "(label,a,b\n)?([-0-9.eNaIinf]{0,6}(,[-0-9.eNaIinf]{0,6}){0,3}\n){0,8}") {
        let dir = tempfile::tempdir().unwrap();
        let _ = load_csv(&file(dir.path(), "t.csv", text.as_bytes()));
    }

    #[test]
    fn idx_headers_never_panic(kind in prop_oneof![Just(0x08u8), Just(0x0D), any::<u8>()], dims in prop::collection::vec(any::<u32>(), 0..4), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = vec![0, 0, kind, dims.len() as u8];
        dims.iter().for_each(|d| bytes.extend_from_slice(&d.to_be_bytes()));
        bytes.extend_from_slice(&body);
        let x = file(dir.path(), "x.idx", &bytes);
        let y = file(dir.path(), "y.idx", &[0, 0, 8, 1, 0, 0, 0, 1, 1]);
        if let Err(e) = load_idx(&x, &y) {
            prop_assert!(e.to_string().contains(".idx"));
        }
    }

    #[test]
    fn npy_headers_never_panic(descr in prop_oneof![Just("<f4"), Just("<f8"), Just("|u1"), Just("<i8"), Just("<c8"), Just("|b1")], dims in prop::collection::vec(0u64..u64::MAX, 1..3), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let dir = tempfile::tempdir().unwrap();
        let shape = format!("({})", dims.iter().map(|d| format!("{d},")).collect::<String>());
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (11 + header.len()) % 64 != 0 { header.push(' '); }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&body);
        let x = file(dir.path(), "x.npy", &bytes);
        let _ = load_npy(&x, &x);
    }
}
