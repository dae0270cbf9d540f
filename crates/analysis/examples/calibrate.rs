//! Prints the calibration table: `cargo run --release -p ddlab-analysis --example calibrate [draws]`.
fn main() {
    let draws = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let start = std::time::Instant::now();
    let rows = ddlab_analysis::calibrate(&ddlab_analysis::CalibrationOptions { draws, ..Default::default() });
    println!("{}", ddlab_analysis::calibration_table_markdown(&rows));
    println!("({:.1} s)", start.elapsed().as_secs_f64());
}
