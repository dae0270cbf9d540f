//! IDX files (LeCun's MNIST format), gzipped or raw: a 4-byte magic (0, 0, type, ndims), ndims big-endian
//! u32 sizes, then the values row-major. Images (idx3) become rows of rows*cols features; labels are idx1.

use std::io::Read;
use std::path::Path;

use crate::dataset::Dataset;
use crate::error::DataError;

/// Reads a whole file, un-gzipping it when it starts with the gzip magic.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt or truncated gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX array: its sizes and its values as f64.
struct IdxArray {
    dims: Vec<usize>,
    values: Vec<f64>,
}

fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        let magic: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(DataError::format(
            path,
            format!("not an IDX file: magic bytes {} (expected 00 00 <type> <ndims>)", magic.join(" ")),
        ));
    }
    let (type_code, ndims) = (bytes[2], bytes[3] as usize);
    let width = match type_code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        other => return Err(DataError::format(path, format!("unknown IDX value type 0x{other:02x}"))),
    };
    let header = 4 + 4 * ndims;
    if ndims == 0 || bytes.len() < header {
        return Err(DataError::format(path, "IDX header is truncated"));
    }
    let dims: Vec<usize> =
        (0..ndims).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let body = &bytes[header..];
    let needed = dims.iter().try_fold(width as usize, |acc: usize, &d| acc.checked_mul(d));
    if needed != Some(body.len()) {
        let needed = needed.map_or("more than addressable".to_string(), |n| n.to_string());
        return Err(DataError::format(
            path,
            format!("IDX sizes {dims:?} need {needed} bytes of values, found {} (truncated or padded file)", body.len()),
        ));
    }
    let values = body
        .chunks_exact(width)
        .map(|c| match type_code {
            0x08 => c[0] as f64,
            0x09 => c[0] as i8 as f64,
            0x0B => i16::from_be_bytes([c[0], c[1]]) as f64,
            0x0C => i32::from_be_bytes(c.try_into().unwrap()) as f64,
            0x0D => f32::from_be_bytes(c.try_into().unwrap()) as f64,
            _ => f64::from_be_bytes(c.try_into().unwrap()),
        })
        .collect();
    Ok(IdxArray { dims, values })
}

/// Loads an idx3 (or any >= 2-d) feature file and its idx1 label file.
pub fn load_idx(features: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let x = parse_idx(features, &read_maybe_gz(features)?)?;
    let y = parse_idx(labels, &read_maybe_gz(labels)?)?;
    if x.dims.len() < 2 {
        return Err(DataError::format(
            features,
            format!("feature file has {} dimension(s); expected an idx3 image file or an idx2 matrix", x.dims.len()),
        ));
    }
    if y.dims.len() != 1 {
        return Err(DataError::format(labels, format!("label file has {} dimensions; expected idx1", y.dims.len())));
    }
    if x.dims[0] != y.dims[0] {
        return Err(DataError::format(
            labels,
            format!("{} labels for {} examples in {}", y.dims[0], x.dims[0], features.display()),
        ));
    }
    let labels_u32 = y
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v < 0.0 || v.fract() != 0.0 {
                Err(DataError::format(labels, format!("label {i} is {v}; labels must be non-negative integers")))
            } else {
                Ok(v as u32)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dim = x.dims[1..]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::format(features, format!("IDX sizes {:?} overflow", x.dims)))?;
    Dataset::new(x.values.iter().map(|&v| v as f32).collect(), labels_u32, dim, features)
}
