//! CSV: a header row, then one example per line: a label column (named `label`, else the first column)
//! and numeric feature columns.

use std::path::Path;

use crate::dataset::Dataset;
use crate::error::DataError;

pub fn load_csv(path: &Path) -> Result<Dataset, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
    let header = reader.headers().map_err(|e| DataError::format(path, format!("cannot read the header: {e}")))?.clone();
    if header.len() < 2 {
        return Err(DataError::line(
            path,
            1,
            format!("header has {} column(s); expected a label column and at least one feature", header.len()),
        ));
    }
    let label_col = header.iter().position(|h| h.trim() == "label").unwrap_or(0);
    let dim = header.len() - 1;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            DataError::line(path, line, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            return Err(DataError::line(path, line, format!("has {} fields; the header has {}", record.len(), header.len())));
        }
        for (col, field) in record.iter().enumerate() {
            let field = field.trim();
            if col == label_col {
                let label: u32 = field
                    .parse()
                    .map_err(|_| DataError::line(path, line, format!("label `{field}` is not a non-negative integer")))?;
                y.push(label);
            } else {
                let value: f32 = field
                    .parse()
                    .map_err(|_| DataError::line(path, line, format!("column `{}`: `{field}` is not a number", &header[col])))?;
                if !value.is_finite() {
                    return Err(DataError::line(
                        path,
                        line,
                        format!("column `{}` is {value} (features must be finite)", &header[col]),
                    ));
                }
                x.push(value);
            }
        }
    }
    Dataset::new(x, y, dim, path)
}
