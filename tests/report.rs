//! report.html renders in a real browser: headless Chromium (Debian's `chromium`) lays out every
//! figure and the verdict table with a non-zero size.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::*;

/// Measures what the page displays and writes it into the DOM, which `--dump-dom` prints.
const PROBE_SCRIPT: &str = r#"<script>
const out = [];
document.querySelectorAll('figure').forEach((f, i) => {
  const svg = f.querySelector('svg');
  const r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  out.push('figure ' + i + ' ' + Math.round(r.width) + ' ' + Math.round(r.height));
});
document.querySelectorAll('table').forEach(t => {
  const r = t.getBoundingClientRect();
  out.push('table ' + t.id + ' ' + Math.round(r.width) + ' ' + Math.round(r.height) + ' ' + t.rows.length);
});
const pre = document.createElement('pre');
pre.id = 'ddlab-check';
pre.textContent = out.join('\n');
document.body.appendChild(pre);
</script>"#;

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); run with `-- --ignored`, as CI does"]
fn report_displays_every_figure_and_the_verdict_table() {
    let browser = chromium().expect("chromium is not installed (apt-get install chromium)");
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "tiny.toml", TINY);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let html = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("figures/index.json")).unwrap()).unwrap();
    let figures = index["figures"].as_array().unwrap().len();
    assert!(figures >= 3);

    let page = dir.path().join("check.html");
    std::fs::write(&page, html.replace("</body>", &format!("{PROBE_SCRIPT}</body>"))).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1024",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    let report = dom
        .split("<pre id=\"ddlab-check\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| panic!("the page did not run: {dom}"));
    let lines: Vec<Vec<&str>> = report.lines().map(|l| l.split(' ').collect()).collect();
    let shown: Vec<&Vec<&str>> = lines.iter().filter(|l| l[0] == "figure").collect();
    assert_eq!(shown.len(), figures, "{report}");
    for l in &shown {
        let (w, h): (f64, f64) = (l[2].parse().unwrap(), l[3].parse().unwrap());
        assert!(w > 100.0 && h > 100.0, "figure {} is {w} x {h}", l[1]);
    }
    let verdict =
        lines.iter().find(|l| l[0] == "table" && l[1] == "verdict-0").unwrap_or_else(|| panic!("no verdict table: {report}"));
    let (w, h, rows): (f64, f64, usize) = (verdict[2].parse().unwrap(), verdict[3].parse().unwrap(), verdict[4].parse().unwrap());
    assert!(w > 100.0 && h > 20.0 && rows >= 2, "verdict table {w} x {h}, {rows} rows");
}
