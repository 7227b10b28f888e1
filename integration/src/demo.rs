//! The end-to-end demo (`integration/demo.sh`): a reference control plane in a temporary state
//! directory, demo secrets, and every demo node (`integration/demo/nodes/<lang>/`) run through
//! `ax-run` in each scenario, with a table of what happened and a leak scan at the end.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::admin::Admin;
use crate::util;

/// What the demo needs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where `ax-run`, `ax-control-plane` and `ax-sidecar` are.
    pub bin_dir: PathBuf,
    /// `integration/demo/nodes`.
    pub nodes_dir: PathBuf,
    /// Only these languages (all if empty).
    pub only: Vec<String>,
    /// Extra sidecar flags (e.g. `--allow-unlocked-memory`).
    pub sidecar_args: Vec<String>,
}

const GREETING: &str = "Hello from the acme tenant!";
const API_KEY: &str = "sk-demo-tenant-4f2a9c1e7b3d";
const API_KEY_NIGHTLY: &str = "sk-demo-nightly-override-77d3";
const DB_URL_V1: &str = "postgres://app:tenant-pw-83kq@db.internal/app";
const DB_URL_V2: &str = "postgres://app:rotated-pw-19zx@db.internal/app";
const LEGACY: &str = "legacy-token-55aa01bc";
const ALL_VALUES: &[&str] = &[
    GREETING,
    API_KEY,
    API_KEY_NIGHTLY,
    DB_URL_V1,
    DB_URL_V2,
    LEGACY,
];

fn fp(value: &str) -> String {
    util::fingerprint(value.as_bytes(), 6)
}

/// The control plane process; stopped with SIGTERM when dropped.
struct PlaneProcess(Child);

impl Drop for PlaneProcess {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.0.wait();
    }
}

/// A row of the table.
struct Row {
    lang: String,
    scenario: &'static str,
    saw: String,
    ok: bool,
}

/// One node run through `ax-run`.
struct NodeRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl NodeRun {
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

struct Demo<'a> {
    options: &'a DemoOptions,
    state: PathBuf,
    admin: Admin,
    outputs: Vec<String>,
    rows: Vec<Row>,
}

impl Demo<'_> {
    fn ax_run(&self, tenant: &str, config: Option<&str>, node: &Path, ops: &[&str]) -> Command {
        let mut command = Command::new(self.options.bin_dir.join("ax-run"));
        command
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--tenant")
            .arg(tenant)
            .arg("--sidecar")
            .arg(self.options.bin_dir.join("ax-sidecar"));
        if let Some(c) = config {
            command.arg("--config").arg(c);
        }
        for a in &self.options.sidecar_args {
            command.arg(format!("--sidecar-arg={a}"));
        }
        command.arg("--").arg(node).args(ops);
        command
    }

    fn run_node(
        &mut self,
        tenant: &str,
        config: Option<&str>,
        node: &Path,
        ops: &[&str],
    ) -> NodeRun {
        let output = self
            .ax_run(tenant, config, node, ops)
            .stdin(Stdio::null())
            .output();
        let run = match output {
            Ok(o) => NodeRun {
                code: o.status.code(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            },
            Err(e) => NodeRun {
                code: None,
                stdout: String::new(),
                stderr: format!("cannot run ax-run: {e}"),
            },
        };
        self.outputs.push(run.stdout.clone());
        self.outputs.push(run.stderr.clone());
        run
    }

    fn row(&mut self, lang: &str, scenario: &'static str, saw: String, ok: bool) {
        self.rows.push(Row {
            lang: lang.to_owned(),
            scenario,
            saw,
            ok,
        });
    }

    fn setup_tenant(&self, tenant: &str) -> Result<(), String> {
        let a = &self.admin;
        let e = |e: crate::admin::AdminError| e.to_string();
        a.create_tenant(tenant).map_err(e)?;
        for (name, value) in [
            ("GREETING", GREETING),
            ("OPENAI_API_KEY", API_KEY),
            ("DB_URL", DB_URL_V1),
            ("LEGACY_TOKEN", LEGACY),
        ] {
            a.put_secret(tenant, name, value, false).map_err(e)?;
        }
        a.create_config(tenant, "nightly").map_err(e)?;
        a.put_override(tenant, "nightly", "OPENAI_API_KEY", API_KEY_NIGHTLY, false)
            .map_err(e)?;
        Ok(())
    }

    fn first(run: &NodeRun, op: &str) -> Value {
        run.json()
            .into_iter()
            .find(|l| l["op"] == op)
            .unwrap_or(Value::Null)
    }

    fn failure(run: &NodeRun) -> String {
        let line = run.stderr.lines().last().unwrap_or("").trim().to_owned();
        format!("failed (exit {:?}): {line}", run.code)
    }

    fn which(fingerprint: &Value) -> &'static str {
        let f = fingerprint.as_str().unwrap_or("");
        [
            (GREETING, "the tenant's GREETING"),
            (API_KEY, "the tenant value"),
            (API_KEY_NIGHTLY, "the nightly override"),
            (DB_URL_V1, "version 1"),
            (DB_URL_V2, "version 2"),
            (LEGACY, "the tenant value"),
        ]
        .iter()
        .find(|(v, _)| fp(v) == f)
        .map(|(_, label)| *label)
        .unwrap_or("an unknown value")
    }

    fn scenarios(&mut self, lang: &str, node: &Path) {
        let tenant = format!("acme-{lang}");
        if let Err(e) = self.setup_tenant(&tenant) {
            self.row(lang, "set up the tenant", e, false);
            return;
        }
        let t = tenant.as_str();

        let run = self.run_node(t, None, node, &["get", "GREETING"]);
        let got = Self::first(&run, "get");
        let ok = run.code == Some(0) && got["fingerprint"] == fp(GREETING);
        let saw = if got.is_null() {
            Self::failure(&run)
        } else {
            format!("GREETING found: {}", Self::which(&got["fingerprint"]))
        };
        self.row(lang, "a node reads a secret", saw, ok);

        let run = self.run_node(t, None, node, &["get-or", "MODEL_NAME", "gpt-4o-mini"]);
        let got = Self::first(&run, "get-or");
        let ok = run.code == Some(0) && got["found"] == false && got["used"] == "gpt-4o-mini";
        let saw = if got.is_null() {
            Self::failure(&run)
        } else {
            format!(
                "MODEL_NAME not found, no exception; fell back to {}",
                got["used"]
            )
        };
        self.row(lang, "a missing secret falls back", saw, ok);

        let plain = self.run_node(t, None, node, &["get", "OPENAI_API_KEY"]);
        let nightly = self.run_node(t, Some("nightly"), node, &["get", "OPENAI_API_KEY"]);
        let (p, n) = (Self::first(&plain, "get"), Self::first(&nightly, "get"));
        let ok = p["fingerprint"] == fp(API_KEY) && n["fingerprint"] == fp(API_KEY_NIGHTLY);
        let saw = format!(
            "OPENAI_API_KEY: {} without a config, {} with --config nightly",
            Self::which(&p["fingerprint"]),
            Self::which(&n["fingerprint"])
        );
        self.row(lang, "a config override replaces a value", saw, ok);

        let (during, after_replace) = self.replace_while_running(t, node);
        let next = self.run_node(t, None, node, &["get", "DB_URL"]);
        let next = Self::first(&next, "get");
        let ok = during == fp(DB_URL_V1)
            && after_replace == fp(DB_URL_V1)
            && next["fingerprint"] == fp(DB_URL_V2);
        let saw = format!(
            "DB_URL: running execution read {} before and {} after the replace; next execution: {}",
            Self::which(&Value::from(during)),
            Self::which(&Value::from(after_replace)),
            Self::which(&next["fingerprint"])
        );
        self.row(lang, "a replaced secret: next execution only", saw, ok);

        let before = self.run_node(t, None, node, &["get", "LEGACY_TOKEN"]);
        let deleted = self.admin.delete_secret(t, "LEGACY_TOKEN").is_ok();
        let after = self.run_node(t, None, node, &["get", "LEGACY_TOKEN"]);
        let (b, a) = (Self::first(&before, "get"), Self::first(&after, "get"));
        let ok = deleted && b["found"] == true && a["found"] == false && after.code == Some(0);
        let saw = format!(
            "LEGACY_TOKEN found={} before the delete, found={} in the next execution",
            b["found"], a["found"]
        );
        self.row(lang, "a deleted secret is gone next time", saw, ok);

        let run = self.run_node(t, None, node, &["print", "OPENAI_API_KEY"]);
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("OPENAI_API_KEY is"))
            .unwrap_or("")
            .to_owned();
        let ok = line == "OPENAI_API_KEY is ***";
        let saw = if line.is_empty() {
            Self::failure(&run)
        } else {
            format!("the log shows: {line}")
        };
        self.row(lang, "a printed secret shows as ***", saw, ok);

        match self.admin.audit(t, None, None) {
            Ok(events) => {
                let text = Value::from(events.clone()).to_string();
                self.outputs.push(text);
                let mut names: Vec<String> = Vec::new();
                for e in &events {
                    for n in e["names"].as_array().into_iter().flatten() {
                        let label = format!(
                            "{}{}",
                            n.as_str().unwrap_or("?"),
                            if e["found"] == true {
                                ""
                            } else {
                                " (not found)"
                            }
                        );
                        if !names.contains(&label) {
                            names.push(label);
                        }
                    }
                }
                let expected = [
                    "GREETING",
                    "MODEL_NAME (not found)",
                    "OPENAI_API_KEY",
                    "DB_URL",
                    "LEGACY_TOKEN",
                    "LEGACY_TOKEN (not found)",
                ];
                let ok = expected.iter().all(|x| names.iter().any(|n| n == x));
                let saw = format!("{} events naming {}", events.len(), names.join(", "));
                self.row(lang, "the audit trail lists the names read", saw, ok);
            }
            Err(e) => self.row(
                lang,
                "the audit trail lists the names read",
                e.to_string(),
                false,
            ),
        }
    }

    /// Starts an execution that reads DB_URL, waits, reads it again; replaces DB_URL in the
    /// meantime. Returns the two fingerprints it saw.
    fn replace_while_running(&mut self, tenant: &str, node: &Path) -> (String, String) {
        let spawned = self
            .ax_run(
                tenant,
                None,
                node,
                &["get", "DB_URL", "wait", "get", "DB_URL"],
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = spawned else {
            return (String::new(), String::new());
        };
        let mut fingerprints = Vec::new();
        let mut transcript = String::new();
        if let Some(stdout) = child.stdout.take() {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while fingerprints.len() < 2 {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                transcript.push_str(&line);
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    fingerprints.push(v["fingerprint"].as_str().unwrap_or("").to_owned());
                }
                if fingerprints.len() == 1 {
                    let _ = self.admin.put_secret(tenant, "DB_URL", DB_URL_V2, true);
                    if let Some(stdin) = child.stdin.as_mut() {
                        let _ = stdin.write_all(b"go\n");
                    }
                }
            }
        }
        drop(child.stdin.take());
        let _ = child.wait();
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        self.outputs.push(transcript);
        self.outputs.push(stderr);
        fingerprints.resize(2, String::new());
        (fingerprints[0].clone(), fingerprints[1].clone())
    }
}

fn start_plane(bin_dir: &Path, state: &Path) -> Result<(PlaneProcess, String), String> {
    let mut child = Command::new(bin_dir.join("ax-control-plane"))
        .arg("--state-dir")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start ax-control-plane: {e}"))?;
    let stdout = child.stdout.take();
    let plane = PlaneProcess(child);
    let mut line = String::new();
    if let Some(out) = stdout {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let url = line.trim().to_owned();
    if url.is_empty() {
        return Err("ax-control-plane exited before printing its URL".into());
    }
    Ok((plane, url))
}

fn nodes(dir: &Path, only: &[String]) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("run").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(lang, _)| only.is_empty() || only.contains(lang))
        .collect();
    found.sort();
    found
}

/// A node's `setup` that failed: a one-line reason for the table, and the last lines it printed.
struct SetupFailure {
    reason: String,
    tail: Vec<String>,
}

/// Runs a node's `setup` (if it has one) in its directory, its stdin closed.
fn setup(dir: &Path) -> Result<(), SetupFailure> {
    let setup = dir.join("setup");
    if !setup.is_file() {
        return Ok(());
    }
    let output = Command::new(&setup)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| SetupFailure {
            reason: format!("cannot run {}: {e}", setup.display()),
            tail: Vec::new(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let status = output
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}"));
    let reason = match lines.last() {
        Some(last) => format!("setup failed ({status}): {}", last.trim()),
        None => format!("setup failed ({status})"),
    };
    Err(SetupFailure {
        reason,
        tail: lines[lines.len().saturating_sub(15)..].to_vec(),
    })
}

fn table(rows: &[Row]) -> String {
    let w_lang = rows.iter().map(|r| r.lang.len()).max().unwrap_or(4).max(4);
    let w_scn = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        " {:<w_lang$} | {:<w_scn$} | ok | what happened",
        "lang", "scenario"
    );
    let _ = writeln!(
        out,
        "-{}-+-{}-+----+-{}",
        "-".repeat(w_lang),
        "-".repeat(w_scn),
        "-".repeat(60)
    );
    for r in rows {
        let mark = if r.ok { "ok" } else { "NO" };
        let _ = writeln!(
            out,
            " {:<w_lang$} | {:<w_scn$} | {mark} | {}",
            r.lang, r.scenario, r.saw
        );
    }
    out
}

/// Runs the demo; returns the process exit code (0 when every scenario behaved).
#[allow(clippy::print_stdout)]
pub fn run(options: &DemoOptions) -> i32 {
    let Ok(hex) = util::random_hex(6) else {
        return 70;
    };
    let work = std::env::temp_dir().join(format!("ax-demo-{hex}"));
    let state = work.join("state");
    let code = (|| -> Result<i32, String> {
        util::create_private_dir(&work).map_err(|e| e.to_string())?;
        let (_plane, url) = start_plane(&options.bin_dir, &state)?;
        let admin = Admin::from_state_dir(&state).map_err(|e| e.to_string())?;
        println!("ax-secrets demo");
        println!(
            "  reference control plane: {url} (in-memory; state in {})",
            state.display()
        );
        println!("  one tenant per language, acme-<lang>: GREETING, OPENAI_API_KEY, DB_URL,");
        println!("  LEGACY_TOKEN, and a config \"nightly\" overriding OPENAI_API_KEY");
        println!("  every node runs through ax-run: one execution, one sidecar, each time\n");
        let mut demo = Demo {
            options,
            state: state.clone(),
            admin,
            outputs: Vec::new(),
            rows: Vec::new(),
        };
        let langs = nodes(&options.nodes_dir, &options.only);
        if langs.is_empty() {
            return Err(format!("no demo nodes in {}", options.nodes_dir.display()));
        }
        for lang in &options.only {
            if !langs.iter().any(|(l, _)| l == lang) {
                let why = format!("no {lang}/run in {}", options.nodes_dir.display());
                demo.row(lang, "find the node", why, false);
            }
        }
        for (lang, dir) in &langs {
            if let Err(failure) = setup(dir) {
                // Not skipped: a language whose node cannot be built fails the demo.
                println!("  {lang}: {}; its last lines:", failure.reason);
                for line in &failure.tail {
                    println!("    | {line}");
                }
                println!();
                demo.row(lang, "set up the node", failure.reason, false);
                continue;
            }
            demo.scenarios(lang, &dir.join("run"));
        }
        println!("{}", table(&demo.rows));
        for (lang, _) in &langs {
            if let Ok(events) = demo.admin.audit(&format!("acme-{lang}"), None, None) {
                println!(
                    "audit trail of acme-{lang} (GET /v1/tenants/acme-{lang}/audit): names, never values"
                );
                let mut quiet = 0;
                for e in events {
                    let names: Vec<&str> = e["names"]
                        .as_array()
                        .map(|n| n.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    if names.is_empty() {
                        quiet += 1; // a stream that ended with nothing to mask
                        continue;
                    }
                    println!(
                        "  {}  #{:<2} {:<13} {:<16} found={}",
                        e["execution_id"].as_str().unwrap_or("?"),
                        e["seq"],
                        e["action"].as_str().unwrap_or("?"),
                        names.join(","),
                        e["found"]
                    );
                }
                println!("  (and {quiet} redact_stream events of streams that held no secret)");
                println!();
            }
        }
        let mut leaks = 0;
        for value in ALL_VALUES {
            for text in &demo.outputs {
                if text.contains(value) {
                    leaks += 1;
                }
            }
        }
        println!(
            "leak scan: {leaks} secret values in {} outputs of the nodes, ax-run and the audit query",
            demo.outputs.len()
        );
        let failed = demo.rows.iter().filter(|r| !r.ok).count();
        println!(
            "{} passed, {} failed",
            demo.rows.len() - failed,
            failed + usize::from(leaks > 0)
        );
        Ok(i32::from(failed > 0 || leaks > 0 || demo.rows.is_empty()))
    })();
    let _ = std::fs::remove_dir_all(&work);
    match code {
        Ok(c) => c,
        Err(e) => {
            println!("demo failed: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::setup;

    fn node(dir: &Path, script: Option<&str>) {
        std::fs::write(dir.join("run"), "#!/bin/sh\n").unwrap();
        if let Some(script) = script {
            let path = dir.join("setup");
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    // One test, not two: a script written while another test thread forks can fail to run
    // with ETXTBSY (the forked child briefly holds the file open for writing).
    #[test]
    fn setup_passes_or_says_why_with_its_last_lines() {
        let none = tempfile::tempdir().unwrap();
        node(none.path(), None);
        assert!(setup(none.path()).is_ok());

        let passing = tempfile::tempdir().unwrap();
        node(passing.path(), Some("#!/bin/sh\ntest -f run\n")); // runs in the node's directory
        assert!(setup(passing.path()).is_ok());

        let failing = tempfile::tempdir().unwrap();
        let lines: String = (1..=20).map(|n| format!("echo step {n}\n")).collect();
        let script = format!("#!/bin/sh\n{lines}echo 'mcs: not found' >&2\nexit 3\n");
        node(failing.path(), Some(&script));
        let failure = setup(failing.path()).err().unwrap();
        assert_eq!(failure.reason, "setup failed (exit 3): mcs: not found");
        assert_eq!(failure.tail.len(), 15);
        assert_eq!(failure.tail.first().unwrap(), "step 7");
        assert_eq!(failure.tail.last().unwrap(), "mcs: not found");
    }
}
