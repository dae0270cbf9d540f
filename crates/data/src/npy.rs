//! NPY: a 2-d features array (float32, float64 or uint8) and a 1-d integer labels array.

use std::path::Path;

use npyz::{DType, NpyFile, TypeChar};

use crate::dataset::Dataset;
use crate::error::DataError;

/// The shape an NPY header declares, read before npyz sees the file: npyz multiplies the dimensions
/// without overflow checks, so an absurd header must be refused here.
fn declared_shape(path: &Path) -> Result<Vec<u64>, DataError> {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let read = file.read(&mut head).map_err(|e| DataError::io(path, e))?;
    let head = &head[..read];
    let bad = |why: &str| DataError::format(path, format!("not a readable NPY file: {why}"));
    if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
        return Err(bad("no NPY magic"));
    }
    let (len, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        _ if head.len() >= 12 => (u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize, 12),
        _ => return Err(bad("truncated header")),
    };
    let text = head.get(start..start + len).map(String::from_utf8_lossy).ok_or_else(|| bad("truncated header"))?;
    let tuple = text
        .split("'shape'")
        .nth(1)
        .and_then(|t| t.split('(').nth(1))
        .and_then(|t| t.split(')').next())
        .ok_or_else(|| bad("no shape in the header"))?;
    tuple
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<u64>().map_err(|_| bad("a dimension is not a number")))
        .collect()
}

fn open(path: &Path) -> Result<NpyFile<std::io::BufReader<std::fs::File>>, DataError> {
    let shape = declared_shape(path)?;
    if shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).is_none() {
        return Err(DataError::format(path, format!("shape {shape:?} overflows")));
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    NpyFile::new(std::io::BufReader::new(file)).map_err(|e| DataError::format(path, format!("not a readable NPY file: {e}")))
}

fn type_of(path: &Path, dtype: &DType) -> Result<(TypeChar, u64), DataError> {
    match dtype {
        DType::Plain(t) => Ok((t.type_char(), t.size_field())),
        other => Err(DataError::format(path, format!("unsupported dtype {}: expected a plain numeric array", other.descr()))),
    }
}

/// Refuses an array whose shape claims more values than the file holds, before anything is allocated.
fn check_size(path: &Path, shape: &[u64], dtype: &DType) -> Result<(), DataError> {
    let item = dtype.num_bytes().unwrap_or(1) as u64;
    let needed = shape.iter().try_fold(item, |acc, &d| acc.checked_mul(d));
    let available = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?.len();
    match needed {
        Some(n) if n <= available => Ok(()),
        _ => Err(DataError::format(
            path,
            format!("shape {shape:?} needs more bytes than the file's {available} (truncated file?)"),
        )),
    }
}

fn bad_read(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| DataError::format(path, format!("cannot read the array (truncated file?): {e}"))
}

pub fn load_npy(features: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let fx = open(features)?;
    let shape = fx.shape().to_vec();
    if shape.len() != 2 {
        return Err(DataError::format(features, format!("features have shape {shape:?}; expected 2-d (examples x features)")));
    }
    check_size(features, &shape, &fx.dtype())?;
    if fx.order() == npyz::Order::Fortran {
        return Err(DataError::format(features, "Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray"));
    }
    let x: Vec<f32> = match type_of(features, &fx.dtype())? {
        (TypeChar::Float, 4) => fx.into_vec::<f32>().map_err(bad_read(features))?,
        (TypeChar::Float, 8) => fx.into_vec::<f64>().map_err(bad_read(features))?.into_iter().map(|v| v as f32).collect(),
        (TypeChar::Uint, 1) => fx.into_vec::<u8>().map_err(bad_read(features))?.into_iter().map(f32::from).collect(),
        _ => {
            return Err(DataError::format(
                features,
                format!("unsupported feature dtype {}: expected float32, float64 or uint8", fx.dtype().descr()),
            ));
        }
    };
    let fy = open(labels)?;
    if fy.shape().len() != 1 {
        return Err(DataError::format(labels, format!("labels have shape {:?}; expected 1-d", fy.shape())));
    }
    check_size(labels, fy.shape(), &fy.dtype())?;
    if fy.shape()[0] != shape[0] {
        return Err(DataError::format(
            labels,
            format!("{} labels for {} examples in {}", fy.shape()[0], shape[0], features.display()),
        ));
    }
    let raw: Vec<i64> = match type_of(labels, &fy.dtype())? {
        (TypeChar::Int, 1) => fy.into_vec::<i8>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 2) => fy.into_vec::<i16>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 4) => fy.into_vec::<i32>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 8) => fy.into_vec::<i64>().map_err(bad_read(labels))?,
        (TypeChar::Uint, 1) => fy.into_vec::<u8>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 2) => fy.into_vec::<u16>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 4) => fy.into_vec::<u32>().map_err(bad_read(labels))?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 8) => {
            fy.into_vec::<u64>().map_err(bad_read(labels))?.into_iter().map(|v| v.min(i64::MAX as u64) as i64).collect()
        }
        _ => {
            return Err(DataError::format(
                labels,
                format!("unsupported label dtype {}: expected an integer type", fy.dtype().descr()),
            ));
        }
    };
    let y = raw
        .iter()
        .enumerate()
        .map(|(i, &v)| u32::try_from(v).map_err(|_| DataError::format(labels, format!("label {i} is {v}: out of range"))))
        .collect::<Result<Vec<_>, _>>()?;
    Dataset::new(x, y, shape[1] as usize, features)
}
