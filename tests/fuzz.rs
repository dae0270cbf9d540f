//! End-to-end fuzzing: hundreds of tiny random experiments (odd width lists, 1-3 epochs, random noise,
//! loss, optimiser, learning rates from 1e-6 to 1e30, depth 1-3, tiny and odd datasets written here),
//! each through the whole pipeline under a deadline. Every case must end in exit 0, 1 or 2 within its
//! deadline (never a panic's 101, never a hang), an error must name a key, file or flag, and a sweep
//! that succeeds must leave its report. Seeded: a failure prints its case number and experiment, and
//! `DDLAB_FUZZ_CASE=N` reruns that case alone. `DDLAB_FUZZ_CASES` sets the count (default 600).

mod util;

use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use util::*;

/// SplitMix64: a tiny seeded generator, enough to draw experiments reproducibly.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in lo..=hi.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.int(0, options.len() as u64 - 1) as usize]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// A random experiment (and the data files it needs, written into `dir`).
fn random_case(case: u64, dir: &Path) -> String {
    let mut d = Draw(case.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xdd1a);
    let mut text = String::new();
    let seeds: Vec<u64> = (0..d.int(1, 3)).map(|i| i * d.int(1, 2)).collect();
    text.push_str(&format!("seeds = {seeds:?}\n"));
    text.push_str("[data]\n");
    let pool = d.int(3, 120);
    match d.int(0, 3) {
        0 => text.push_str(&format!("dataset = \"teacher\"\npool = {pool}\ndim = {}\nclasses = {}\n", d.int(1, 6), d.int(2, 4))),
        1 => text.push_str(&format!(
            "dataset = \"gaussian_mixture\"\npool = {pool}\ndim = {}\nclasses = {}\nseparation = {}\n",
            d.int(1, 6),
            d.int(2, 4),
            d.pick(&["0.0", "0.5", "3.0", "100.0"])
        )),
        2 => {
            // A CSV written here: few rows, constant or huge columns, one to three classes.
            let (rows, cols, classes) = (d.int(3, 40), d.int(1, 4), d.int(1, 3));
            let mut csv = format!("label,{}\n", (0..cols).map(|c| format!("f{c}")).collect::<Vec<_>>().join(","));
            for r in 0..rows {
                let label = r % classes;
                let values: Vec<String> = (0..cols)
                    .map(|c| match (c + case) % 4 {
                        0 => "1.0".into(),
                        1 => format!("{:.3}", d.unit() * 1e6),
                        _ => format!("{:.4}", d.unit() - 0.5 + label as f64),
                    })
                    .collect();
                csv.push_str(&format!("{label},{}\n", values.join(",")));
            }
            std::fs::write(dir.join("data.csv"), csv).unwrap();
            text.push_str("dataset = \"file\"\nformat = \"csv\"\ntrain = \"data.csv\"\n");
        }
        _ => text.push_str("dataset = \"digits\"\n"),
    }
    text.push_str(&format!("n_train = {}\n", d.int(2, 60)));
    if d.chance(0.5) {
        text.push_str(&format!("n_test = {}\n", d.int(2, 40)));
    }
    text.push_str(&format!("label_noise = {}\n", d.pick(&["0.0", "0.1", "0.3", "0.6"])));
    text.push_str("[model]\n");
    let widths: Vec<u64> = match d.int(0, 3) {
        0 => vec![d.int(1, 40)],
        1 => {
            let w = d.int(1, 30);
            vec![w, w + 1]
        }
        2 => vec![1, 2],
        _ => {
            let mut w: Vec<u64> = (0..d.int(2, 5)).map(|_| d.int(1, 64)).collect();
            w.sort();
            w
        }
    };
    text.push_str(&format!("widths = {widths:?}\ndepth = {}\n", d.int(1, 3)));
    text.push_str("[train]\n");
    let epochs = d.int(1, 3);
    let lr = format!("1e{}", d.int(0, 36) as i64 - 6);
    text.push_str(&format!(
        "loss = \"{}\"\noptimizer = \"{}\"\nlr = {lr}\nepochs = {epochs}\neval_every = 1\n",
        d.pick(&["ce", "mse"]),
        d.pick(&["sgd", "adam"])
    ));
    if d.chance(0.3) {
        text.push_str(&format!("batch_size = {}\n", d.int(1, 20)));
    }
    text.push_str(&format!("[probe]\nprobe_set = {}\ndraws = {}\n", d.int(4, 50), d.int(1, 2)));
    if d.chance(0.3) {
        text.push_str("every = 1\n");
    }
    text
}

/// Words that show an error names what to fix: a key, a file or a flag.
const NAMES: &[&str] = &["exp.toml", ".csv", "data.", "model.", "train.", "probe.", "seeds", "conditions.", "--"];

/// Runs one case: its exit code, or what went wrong.
fn run_case(case: u64) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let text = random_case(case, dir.path());
    let file = experiment(dir.path(), "exp.toml", &text);
    let runs = dir.path().join("runs");
    let log = dir.path().join("out.txt");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = ddlab()
        .args(["sweep", file.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap(), "--quiet", "--jobs", "1"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let fail = |why: &str| Err(format!("case {case}: {why}\n--- experiment ---\n{text}--- output ---\n{output}"));
    let Some(status) = status else { return fail("no exit within 90 s") };
    match status.code() {
        Some(0) => {
            let sweep = sweep_folder(&runs);
            if !sweep.join("report.html").exists() {
                return fail("exit 0 without report.html");
            }
            Ok(0)
        }
        Some(2) => Ok(2),
        Some(1) if output.contains("panicked") => fail("a panic reported as an error"),
        Some(1) if !NAMES.iter().any(|n| output.contains(n)) => fail("an error that names no key, file or flag"),
        Some(1) => Ok(1),
        other => fail(&format!("exit {other:?}")),
    }
}

#[test]
fn random_tiny_experiments_never_hang_or_panic() {
    if let Ok(one) = std::env::var("DDLAB_FUZZ_CASE") {
        let code = run_case(one.parse().expect("DDLAB_FUZZ_CASE is a number")).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("exit {code}");
        return;
    }
    let cases: u64 = std::env::var("DDLAB_FUZZ_CASES").map_or(600, |v| v.parse().expect("DDLAB_FUZZ_CASES is a number"));
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let exits = Mutex::new([0usize; 3]);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let case = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if case >= cases {
                        break;
                    }
                    match run_case(case) {
                        Ok(code) => exits.lock().unwrap()[code] += 1,
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let exits = exits.into_inner().unwrap();
    eprintln!(
        "fuzz: {cases} cases in {:.0} s: {} exit 0, {} exit 1 (a named error), {} exit 2 (runs diverged), {} failed",
        start.elapsed().as_secs_f64(),
        exits[0],
        exits[1],
        exits[2],
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n\n"));
}
