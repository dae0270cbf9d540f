//! Each loader on tiny files written here, its errors, and the shipped files' shapes and checksums.

use std::io::Write;
use std::path::{Path, PathBuf};

use ddlab_data::*;
use sha2::{Digest, Sha256};

fn idx_bytes(type_code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An NPY v1.0 file: magic, header dict padded to 64 bytes, raw little-endian data.
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn idx_reads_gzipped_and_raw_files() {
    let dir = tempfile::tempdir().unwrap();
    let images = idx_bytes(0x08, &[3, 2, 2], &[0, 1, 2, 3, 10, 11, 12, 13, 255, 0, 0, 255]);
    let labels = idx_bytes(0x08, &[3], &[7, 0, 9]);
    for compress in [false, true] {
        let enc = |b: &[u8]| if compress { gz(b) } else { b.to_vec() };
        let x = write(dir.path(), &format!("x{compress}"), &enc(&images));
        let y = write(dir.path(), &format!("y{compress}"), &enc(&labels));
        let set = load_idx(&x, &y).unwrap();
        assert_eq!((set.len(), set.dim), (3, 4));
        assert_eq!(set.row(1), &[10.0, 11.0, 12.0, 13.0]);
        assert_eq!(set.y, vec![7, 0, 9]);
        assert_eq!(set.classes(), 10);
    }
}

#[test]
fn idx_errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "y", &idx_bytes(0x08, &[1], &[1]));
    let bad_magic = write(dir.path(), "magic", &[0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1]);
    let e = load_idx(&bad_magic, &labels).unwrap_err().to_string();
    assert!(e.contains("magic") && e.contains("magic bytes 12 34"), "{e}");
    let short = write(dir.path(), "short", &idx_bytes(0x08, &[1, 2, 2], &[1, 2, 3]));
    let e = load_idx(&short, &labels).unwrap_err().to_string();
    assert!(e.contains("short") && e.contains("truncated"), "{e}");
    let full = gz(&idx_bytes(0x08, &[1, 2, 2], &[1, 2, 3, 4]));
    let cut = write(dir.path(), "cut.gz", &full[..full.len() - 10]);
    let e = load_idx(&cut, &labels).unwrap_err().to_string();
    assert!(e.contains("cut.gz") && e.contains("gzip"), "{e}");
    let ok = write(dir.path(), "ok", &idx_bytes(0x08, &[2, 1, 1], &[1, 2]));
    let e = load_idx(&ok, &labels).unwrap_err().to_string();
    assert!(e.contains("1 labels for 2 examples"), "{e}");
}

#[test]
fn csv_reads_label_column_and_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.csv", b"x0,label,x1\n0.5,2,1e-3\n-1,0,4\n");
    let set = load_csv(&path).unwrap();
    assert_eq!(set.y, vec![2, 0]);
    assert_eq!(set.row(0), &[0.5, 0.001]);
    assert_eq!(set.dim, 2);
}

#[test]
fn csv_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, needle) in [
        ("ragged.csv", "label,a,b\n1,2,3\n0,1\n", "line 3"),
        ("nan.csv", "label,a\n1,2\n0,nan\n", "line 3"),
        ("word.csv", "label,a\n1,two\n", "line 2"),
        ("neg.csv", "label,a\n-1,2\n", "line 2"),
        ("frac.csv", "label,a\n1.5,2\n", "line 2"),
        ("big.csv", "label,a\n123456,2\n", "out of range"),
        ("empty.csv", "label,a\n", "no examples"),
    ] {
        let path = write(dir.path(), name, text.as_bytes());
        let e = load_csv(&path).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(needle), "{name}: {e}");
    }
}

#[test]
fn npy_reads_float_and_byte_features_with_integer_labels() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "y.npy", &npy_bytes("<i8", &[2], &[1u64.to_le_bytes(), 0u64.to_le_bytes()].concat()));
    let f32s: Vec<u8> = [1.0f32, 2.0, 3.0, 4.5, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f64s: Vec<u8> = [1.0f64, 2.0, 3.0, 4.5, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    for (descr, data) in [("<f4", f32s), ("<f8", f64s)] {
        let x = write(dir.path(), &format!("x{descr}.npy"), &npy_bytes(descr, &[2, 3], &data));
        let set = load_npy(&x, &labels).unwrap();
        assert_eq!(set.row(1), &[4.5, 5.0, 6.0]);
        assert_eq!(set.y, vec![1, 0]);
    }
    let x = write(dir.path(), "u8.npy", &npy_bytes("|u1", &[2, 2], &[0, 255, 7, 8]));
    let y = write(dir.path(), "y32.npy", &npy_bytes("<i4", &[2], &[3i32.to_le_bytes(), 4i32.to_le_bytes()].concat()));
    let set = load_npy(&x, &y).unwrap();
    assert_eq!(set.row(0), &[0.0, 255.0]);
    assert_eq!(set.y, vec![3, 4]);
}

#[test]
fn npy_refuses_unsupported_dtypes_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(dir.path(), "y.npy", &npy_bytes("<i8", &[1], &1u64.to_le_bytes()));
    let half = write(dir.path(), "half.npy", &npy_bytes("<f2", &[1, 2], &[0, 0, 0, 0]));
    let e = load_npy(&half, &labels).unwrap_err().to_string();
    assert!(e.contains("half.npy") && e.contains("unsupported feature dtype"), "{e}");
    let flat = write(dir.path(), "flat.npy", &npy_bytes("<f4", &[2], &[0; 8]));
    assert!(load_npy(&flat, &labels).unwrap_err().to_string().contains("2-d"));
    let x = write(dir.path(), "x.npy", &npy_bytes("<f4", &[1, 1], &[0; 4]));
    let float_labels = write(dir.path(), "fy.npy", &npy_bytes("<f4", &[1], &[0; 4]));
    assert!(load_npy(&x, &float_labels).unwrap_err().to_string().contains("unsupported label dtype"));
    let negative = write(dir.path(), "neg.npy", &npy_bytes("<i8", &[1], &(-3i64).to_le_bytes()));
    assert!(load_npy(&x, &negative).unwrap_err().to_string().contains("out of range"));
    let truncated = write(dir.path(), "cut.npy", &npy_bytes("<f4", &[4, 4], &[0; 12]));
    assert!(load_npy(&truncated, &labels).unwrap_err().to_string().contains("cut.npy"));
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name)
}

/// The shipped files are the ones data/PROVENANCE.md describes, byte for byte.
#[test]
fn shipped_files_match_their_provenance_checksums() {
    let provenance = std::fs::read_to_string(shipped("PROVENANCE.md")).unwrap();
    for name in [
        "mnist10k-images-idx3-ubyte.gz",
        "mnist10k-labels-idx1-ubyte.gz",
        "mnist1d-train.csv",
        "mnist1d-test.csv",
        "mnist1d-large-train.csv",
        "mnist1d-large-test.csv",
        "digits.csv",
    ] {
        let bytes = std::fs::read(shipped(name)).unwrap();
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        // The file's own row of the table: `| name | bytes | sha256 |`.
        let row = provenance
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("PROVENANCE.md has no row for {name}"));
        assert_eq!(
            row,
            format!("| `{name}` | {} | `{digest}` |", bytes.len()),
            "{name}: its PROVENANCE.md row is not its size and sha256"
        );
    }
}

#[test]
fn shipped_datasets_have_their_documented_shapes() {
    let digits = load_csv(&shipped("digits.csv")).unwrap();
    assert_eq!((digits.len(), digits.dim, digits.classes()), (1797, 64, 10));
    let train = load_csv(&shipped("mnist1d-train.csv")).unwrap();
    assert_eq!((train.len(), train.dim), (4000, 40));
    assert_eq!(&train.y[..5], &[2, 6, 4, 5, 6]);
    assert_eq!(load_csv(&shipped("mnist1d-test.csv")).unwrap().len(), 1000);
    assert_eq!(load_csv(&shipped("mnist1d-large-train.csv")).unwrap().len(), 10000);
    assert_eq!(load_csv(&shipped("mnist1d-large-test.csv")).unwrap().len(), 2000);
    let mnist = load_idx(&shipped("mnist10k-images-idx3-ubyte.gz"), &shipped("mnist10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!((mnist.len(), mnist.dim), (10000, 784));
    // PROVENANCE.md: rows 0, 1, 2, 3999 and 9999 are the digits 3, 8, 1, 1, 0.
    assert_eq!([0, 1, 2, 3999, 9999].map(|i| mnist.y[i]), [3, 8, 1, 1, 0]);
    let mut counts = [0; 10];
    mnist.y.iter().for_each(|&y| counts[y as usize] += 1);
    assert_eq!(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
}
