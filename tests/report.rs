//! report.html in a real browser: headless Chromium (Debian's `chromium`) driven over the DevTools
//! protocol (over its pipe, no network). At 1400 x 1000 the first screen holds the answer paragraph and the whole key figure
//! (checked through DOM positions); hovering a data point with the mouse shows its value, interval and
//! seeds as analysis.json has them; panels toggle; every figure lays out; no request leaves the page.
//! And, without a browser: a sweep's results are readable by the group when the umask allows it.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use util::*;

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Headless Chromium with one page, driven over the DevTools protocol (flattened session) on the pipe
/// Chromium opens with `--remote-debugging-pipe`: it reads commands on its fd 3 and writes replies and
/// events on its fd 4, each a JSON message ended by a NUL byte.
struct Browser {
    child: Child,
    to_browser: std::io::PipeWriter,
    /// Messages from the browser, read by a thread (so that a silent browser times out, not hangs).
    from_browser: mpsc::Receiver<Value>,
    session: String,
    next_id: u64,
    /// Every event received so far (method, params).
    events: Vec<(String, Value)>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PATIENCE: Duration = Duration::from_secs(60);

impl Browser {
    fn launch(binary: &Path, profile: &Path) -> Browser {
        let (commands_read, to_browser) = std::io::pipe().unwrap();
        let (mut from_browser_read, replies_write) = std::io::pipe().unwrap();
        let (cr, rw) = (commands_read.as_raw_fd(), replies_write.as_raw_fd());
        let mut command = Command::new(binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only dup, dup2 and close run (async-signal-safe). The ends are
        // first copied above fd 4 (a pipe end may itself be fd 3 or 4, and dup2 onto itself would keep
        // its close-on-exec flag); dup2 then gives the browser fds 3 and 4 without it.
        unsafe {
            command.pre_exec(move || {
                let (a, b) = (libc::dup(cr), libc::dup(rw));
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for copy in [a, b] {
                    if copy > 4 {
                        libc::close(copy);
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("chromium starts");
        drop((commands_read, replies_write));
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(&mut from_browser_read);
            loop {
                let mut message = Vec::new();
                match reader.read_until(0, &mut message) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        message.pop();
                        let Ok(v) = serde_json::from_slice::<Value>(&message) else { continue };
                        if send.send(v).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let mut browser =
            Browser { child, to_browser, from_browser: receive, session: String::new(), next_id: 0, events: Vec::new() };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = browser.call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }));
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser
    }

    fn receive(&mut self) -> Value {
        self.from_browser.recv_timeout(PATIENCE).expect("chromium answers within a minute")
    }

    /// Sends a command (to the page once attached) and returns its result; events that arrive
    /// meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.to_browser.write_all(&bytes).expect("send to chromium");
        loop {
            let v = self.receive();
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            if let Some(m) = v["method"].as_str() {
                self.events.push((m.to_string(), v["params"].clone()));
            }
        }
    }

    /// Waits for an event (up to a minute).
    fn wait_for(&mut self, method: &str) {
        let start = Instant::now();
        while !self.events.iter().any(|(m, _)| m == method) {
            assert!(start.elapsed() < PATIENCE, "no {method}");
            let v = self.receive();
            if let Some(m) = v["method"].as_str() {
                self.events.push((m.to_string(), v["params"].clone()));
            }
        }
    }

    /// Evaluates an expression in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// A real mouse event at page coordinates (what a user's pointer does).
    fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        let mut params = json!({ "type": kind, "x": x, "y": y });
        if kind != "mouseMoved" {
            params["button"] = json!("left");
            params["clickCount"] = json!(1);
        }
        self.call("Input.dispatchMouseEvent", params);
    }

    fn click(&mut self, x: f64, y: f64) {
        self.mouse("mouseMoved", x, y);
        self.mouse("mousePressed", x, y);
        self.mouse("mouseReleased", x, y);
    }
}

impl Browser {
    /// Opens a page at 1400 x 1000, recording its requests, script errors and console messages.
    fn open(&mut self, page: &Path) -> String {
        for domain in ["Page", "Network", "Runtime"] {
            self.call(&format!("{domain}.enable"), json!({}));
        }
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        );
        let url = format!("file://{}", page.display());
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for("Page.loadEventFired");
        url
    }

    /// Script errors so far: exceptions and console errors.
    fn script_errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|(m, p)| m == "Runtime.exceptionThrown" || (m == "Runtime.consoleAPICalled" && p["type"] == "error"))
            .map(|(m, p)| format!("{m}: {p}"))
            .collect()
    }
}

/// The centre of the first element matching `selector`, in viewport coordinates.
fn centre(browser: &mut Browser, selector: &str) -> (f64, f64) {
    let r = browser.eval(&format!(
        "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
    ));
    assert!(!r.is_null(), "nothing matches {selector}");
    (r[0].as_f64().unwrap(), r[1].as_f64().unwrap())
}

/// Width and height of a PNG from its header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[1..4], b"PNG");
    (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()))
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |n, (i, &v)| n | (u32::from(v) << (18 - 6 * i)));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(c.len() - 1)
        })
        .collect()
}

/// Two conditions, so that the answer has two paragraphs and the key figure two colours.
const TWO: &str = r#"
name = "two"
seeds = [0, 1, 2]
[data]
dataset = "teacher"
pool = 300
dim = 6
classes = 3
n_train = 60
n_test = 60
[conditions]
label_noise = [0.0, 0.2]
[model]
widths = [1, 2, 4, 8, 16, 32]
[train]
loss = "ce"
lr = 0.01
epochs = 40
eval_every = 10
[probe]
probe_set = 40
draws = 2
"#;

#[test]
#[ignore = "needs Chromium (apt-get install chromium); run with `-- --ignored`, as CI does"]
fn report_answers_first_and_its_figures_can_be_read_in_a_browser() {
    let binary = chromium().expect("chromium is not installed (apt-get install chromium)");
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "two.toml", TWO);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let page = sweep.join("report.html");
    let analysis: Value = serde_json::from_str(&std::fs::read_to_string(sweep.join("analysis.json")).unwrap()).unwrap();

    let profile = tempfile::tempdir().unwrap();
    let mut b = Browser::launch(&binary, profile.path());
    let url = b.open(&page);

    // The first screen: the answer paragraphs and the whole key figure lie within 1400 x 1000.
    let layout = b.eval(
        r#"(() => {
        const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        return {
          viewport: [innerWidth, innerHeight],
          answers: [...document.querySelectorAll('#answer p.answer[data-condition]')].map(box),
          answer_text: [...document.querySelectorAll('#answer p.answer[data-condition]')].map(p => p.textContent),
          key: box(document.querySelector('#key-figure svg')),
          panels: [...document.querySelectorAll('#key-figure g.panel')].map(g => g.dataset.panel),
          markers: document.querySelectorAll('#key-figure line.marker').length,
        };
    })()"#,
    );
    assert_eq!(layout["viewport"], json!([1400, 1000]));
    let within = |r: &Value| {
        let r: Vec<f64> = r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        r[0] >= 0.0 && r[1] >= 0.0 && r[2] <= 1400.0 && r[3] <= 1000.0 && r[2] - r[0] > 100.0 && r[3] - r[1] > 20.0
    };
    let answers = layout["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2, "one answer paragraph per condition: {layout}");
    assert!(within(&answers[0]), "the first answer paragraph is not on the first screen: {layout}");
    assert!(within(&layout["key"]), "the key figure is not wholly on the first screen: {layout}");
    let key: Vec<f64> = layout["key"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(key[3] - key[1] > 400.0, "the key figure is too small to read: {layout}");
    let panels: Vec<&str> = layout["panels"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(panels.len() >= 3 && panels[0] == "error" && panels.contains(&"test_loss"), "{panels:?}");
    // Each paragraph says where the peak is, from analysis.json.
    for (c, text) in analysis["conditions"].as_array().unwrap().iter().zip(layout["answer_text"].as_array().unwrap()) {
        let text = text.as_str().unwrap();
        assert!(text.contains(c["condition"].as_str().unwrap()), "{text}");
        match c["peak"]["peak"]["width"].as_u64() {
            Some(w) if c["verdicts"][0]["outcome"] == "supported" => {
                assert!(text.contains(&format!("peaks at width {w}")), "{text}")
            }
            _ => assert!(text.contains("No double descent was found") || text.contains("not tested"), "{text}"),
        }
    }

    let shot = b.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = base64_decode(shot["data"].as_str().unwrap());
    assert_eq!(png_size(&png), (1400, 1000));
    if let Some(out) = std::env::var_os("DDLAB_SCREENSHOT") {
        std::fs::write(out, &png).unwrap();
    }

    // Hovering a test-error point of the second condition shows its value, interval and seeds.
    let c = &analysis["conditions"][1];
    let point =
        c["curves"]["test_err"].as_array().unwrap().iter().find(|p| p["lo"].is_number()).expect("a point with an interval");
    let w = point["width"].as_u64().unwrap();
    let (x, y) =
        centre(&mut b, &format!("#key-figure circle.point[data-series=\"test_err\"][data-condition=\"1\"][data-w=\"{w}\"]"));
    b.mouse("mouseMoved", x, y);
    let tip = b.eval(
        "(() => { const t = document.getElementById('ddlab-tooltip'); return [getComputedStyle(t).display, t.innerText]; })()",
    );
    assert_eq!(tip[0], "block", "no tooltip after hovering: {tip}");
    let text = tip[1].as_str().unwrap();
    let num = |v: &Value| ddlab_report::num(v.as_f64().unwrap());
    assert!(text.contains(&format!("width {w}")), "{text}");
    assert!(text.contains(c["condition"].as_str().unwrap()), "{text}");
    assert!(text.contains(&format!("{} [{}, {}]", num(&point["mean"]), num(&point["lo"]), num(&point["hi"]))), "{text}");
    let seeds = point["values"].as_array().unwrap();
    assert_eq!(seeds.len(), 3);
    for s in seeds {
        assert!(text.contains(&format!("seed {}: {}", s["seed"], num(&s["value"]))), "seed {s} missing: {text}");
    }

    // Panels and conditions toggle; the width axis goes linear.
    let count = |b: &mut Browser, sel: &str| b.eval(&format!("document.querySelectorAll({sel:?}).length")).as_u64().unwrap();
    let before = count(&mut b, "#key-figure g.panel");
    let (x, y) = centre(&mut b, "#key-figure label.toggle-panel input");
    b.click(x, y);
    assert_eq!(count(&mut b, "#key-figure g.panel"), before - 1, "the first panel toggle hid nothing");
    let (x, y) = centre(&mut b, "#key-figure label.toggle-condition input");
    b.click(x, y);
    assert_eq!(count(&mut b, "#key-figure circle.point[data-condition=\"0\"]"), 0, "condition 0 still drawn");
    assert!(count(&mut b, "#key-figure circle.point[data-condition=\"1\"]") > 0);
    let (x, y) = centre(&mut b, "#key-figure label.toggle-xlog input");
    b.click(x, y);
    let axis = b.eval("document.querySelector('#key-figure .axis-label').textContent");
    assert!(!axis.as_str().unwrap().contains("log"), "{axis}");

    // Every section opened: each chart and each inline figure lays out with a readable size, and the
    // runs table sorts.
    let sizes = b.eval(
        r#"(async () => {
        document.querySelectorAll('details').forEach(d => d.open = true);
        await new Promise(r => setTimeout(r, 500));
        const size = e => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
        return {
          charts: [...document.querySelectorAll('.chart')].map(c => [c.id, c.querySelector('svg') ? size(c.querySelector('svg')) : null]),
          figures: [...document.querySelectorAll('figure')].map(f => [f.id, size(f.querySelector('svg'))]),
          runs: document.querySelector('#runs').rows.length,
        };
    })()"#,
    );
    for chart in sizes["charts"].as_array().unwrap() {
        let s = &chart[1];
        assert!(s.is_array() && s[0].as_f64().unwrap() > 300.0 && s[1].as_f64().unwrap() > 100.0, "chart {chart} not drawn");
    }
    let figures = sizes["figures"].as_array().unwrap();
    assert!(!figures.is_empty(), "{sizes}");
    for f in figures {
        assert!(f[1][0].as_f64().unwrap() > 100.0 && f[1][1].as_f64().unwrap() > 100.0, "figure {f} is not laid out");
    }
    assert_eq!(sizes["runs"].as_u64().unwrap(), 1 + 2 * 6 * 3, "{sizes}");
    let header = b.eval("[...document.querySelectorAll('#runs th')].map(th => th.textContent)");
    let column = header.as_array().unwrap().iter().position(|h| h == "width").expect("a width column") + 1;
    let (x, y) = centre(&mut b, &format!("#runs th:nth-child({column})"));
    b.click(x, y);
    b.click(x, y);
    let first = b.eval(&format!("document.querySelector('#runs tbody tr').cells[{}].textContent", column - 1));
    assert_eq!(first, "32", "sorting by width, descending");

    // Nothing was fetched but the page itself.
    let requests: Vec<String> = b
        .events
        .iter()
        .filter(|(m, _)| m == "Network.requestWillBeSent")
        .map(|(_, p)| p["request"]["url"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(requests.iter().any(|u| u == &url), "the page's own load was not seen: {requests:?}");
    let elsewhere: Vec<&String> = requests.iter().filter(|u| *u != &url && !u.starts_with("data:")).collect();
    assert!(elsewhere.is_empty(), "the report requested {elsewhere:?}");
    assert_eq!(b.eval("performance.getEntriesByType('resource').length"), json!(0));
    assert!(b.script_errors().is_empty(), "{:?}", b.script_errors());
}

/// A regression sweep with a closed-form model and no probes: the page still answers first, draws its
/// key figure (risk only: no loss or metric panels) and runs without a script error, log axes included.
#[test]
#[ignore = "needs Chromium (apt-get install chromium); run with `-- --ignored`, as CI does"]
fn report_of_a_sweep_without_probes_draws_without_script_errors() {
    let binary = chromium().expect("chromium is not installed (apt-get install chromium)");
    let dir = tempfile::tempdir().unwrap();
    let spec = "name = \"linear\"\nseeds = [0, 1, 2]\n[data]\ndataset = \"gaussian_linear\"\nn_train = 20\ndim = 40\npool = 400\n[model]\nkind = \"linear\"\nwidths = [2, 10, 18, 20, 22, 30, 40]\n";
    let file = experiment(dir.path(), "linear.toml", spec);
    let out = run(&["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let sweep = sweep_folder(&dir.path().join("runs"));
    let profile = tempfile::tempdir().unwrap();
    let mut b = Browser::launch(&binary, profile.path());
    b.open(&sweep.join("report.html"));
    let layout = b.eval(
        r#"(() => ({
          answer: document.querySelector('#answer p.answer[data-condition]').getBoundingClientRect().bottom,
          key: document.querySelector('#key-figure svg').getBoundingClientRect().bottom,
          panels: [...document.querySelectorAll('#key-figure g.panel')].map(g => g.dataset.panel),
          points: document.querySelectorAll('#key-figure circle.point').length,
        }))()"#,
    );
    assert!(layout["answer"].as_f64().unwrap() <= 1000.0 && layout["key"].as_f64().unwrap() <= 1000.0, "{layout}");
    assert_eq!(layout["panels"], json!(["error"]), "{layout}");
    assert!(layout["points"].as_u64().unwrap() >= 7, "{layout}");
    let (x, y) = centre(&mut b, "#key-figure circle.point[data-series=\"test_err\"]");
    b.mouse("mouseMoved", x, y);
    let tip = b.eval("document.getElementById('ddlab-tooltip').innerText");
    assert!(tip.as_str().unwrap().contains("test risk") && tip.as_str().unwrap().contains("seed 0"), "{tip}");
    b.eval("(async () => { document.querySelectorAll('details').forEach(d => d.open = true); await new Promise(r => setTimeout(r, 300)); })()");
    let (x, y) = centre(&mut b, "#key-figure label.toggle-ylog input");
    b.click(x, y);
    let log = b.eval("document.querySelector('#key-figure g.panel').dataset.ylog");
    assert_eq!(log, "1", "the risk panel did not go logarithmic");
    b.eval("0");
    assert!(b.script_errors().is_empty(), "{:?}", b.script_errors());
}

/// With umask 002 every file a sweep writes is readable (and writable) by the group, with 077 by
/// nobody else: an atomic write ends with the mode a plain write would have had.
#[test]
fn results_are_readable_by_the_group_when_the_umask_allows() {
    for (umask, mode) in [("002", 0o664), ("077", 0o600)] {
        let dir = tempfile::tempdir().unwrap();
        let file = experiment(dir.path(), "tiny.toml", TINY);
        let out = Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_ddlab")])
            .args(["sweep", file.to_str().unwrap(), "--runs-dir", "runs", "--quiet"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let sweep = sweep_folder(&dir.path().join("runs"));
        let mut checked = 0;
        for name in ["runs.csv", "probes.csv", "analysis.json", "analysis.md", "report.html", "spec.toml", "figures/index.json"] {
            let got = std::fs::metadata(sweep.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{name} with umask {umask}: {got:o}");
            checked += 1;
        }
        for f in files(&sweep).iter().filter(|f| f.ends_with(".svg") || f.ends_with("run.json") || f.ends_with("metrics.csv")) {
            let got = std::fs::metadata(sweep.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{f} with umask {umask}: {got:o}");
            checked += 1;
        }
        assert!(checked > 20, "{checked} files checked");
    }
}
