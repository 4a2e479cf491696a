//! End-to-end tests of the `gossip-check` binary: exit codes, the JSON schema, seeded bugs and the
//! Explorer web UI.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gossip-check");

fn gossip_check(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("gossip-check runs")
}

/// Runs gossip-check with `args`, asserts its exit code (showing its output if it differs),
/// and returns its stdout.
fn run_expecting(args: &[&str], code: i32) -> String {
    let out = gossip_check(args);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    stdout
}

/// Runs gossip-check, killing it and failing the test if it runs longer than `limit`.
fn gossip_check_within(args: &[&str], limit: Duration) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gossip-check starts");
    let mut child = KillOnDrop(child);
    // Drain the pipes on threads, so a chatty child cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < limit,
            "gossip-check {args:?} ran longer than {limit:?}; killed"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh JSON output path in the target's temporary directory.
fn json_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("{name}-{}.json", std::process::id()))
}

fn read_json(path: &PathBuf) -> serde_json::Value {
    let data = std::fs::read_to_string(path).expect("the JSON file was written");
    serde_json::from_str(&data).expect("the JSON file parses")
}

fn property<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["properties"]
        .as_array()
        .expect("properties is a list")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("property {name:?} is in the JSON"))
}

/// The first seeded-bug variant and the property it is expected to violate.
fn seeded_bug() -> (&'static str, &'static str) {
    gossip_model::Variant::all()
        .iter()
        .filter(|v| v.is_seeded_bug())
        .find_map(|v| v.expected_violation().map(|p| (v.name(), p)))
        .expect("the model has at least one seeded-bug variant")
}

/// Runs `gossip-check` on [`seeded_bug`] with `options` between `--variant` and `--property`,
/// writing the JSON report (file named after `name`); expects exit code 0 and the property
/// violated. Returns stdout, the JSON report and the property's name.
fn check_seeded_bug(name: &str, options: &[&str]) -> (String, serde_json::Value, &'static str) {
    let (variant, violated) = seeded_bug();
    let json = json_path(name);
    let mut args = vec!["--variant", variant];
    args.extend_from_slice(options);
    args.extend(["--property", violated, "--json", json.to_str().unwrap()]);
    let stdout = run_expecting(&args, 0);
    let json = read_json(&json);
    assert_eq!(property(&json, violated)["status"], "violated");
    (stdout, json, violated)
}

/// A small run of the fair checker: 2 nodes, 1 write each, a lossy network.
const SMALL_FAIR: [&str; 8] = [
    "--checker",
    "fair",
    "--nodes",
    "2",
    "--writes",
    "1",
    "--faults",
    "loss",
];

/// The arguments of a [`SMALL_FAIR`] run of the `push-once` bug checking `property`, then
/// `more`.
fn small_push_once<'a>(property: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = SMALL_FAIR.to_vec();
    args.extend(["--variant", "push-once", "--property", property]);
    args.extend_from_slice(more);
    args
}

/// The name of the default model's first liveness (convergence) requirement.
fn convergence_requirement() -> &'static str {
    gossip_model::GossipConfig::default()
        .into_model()
        .liveness()
        .first()
        .expect("a convergence requirement")
        .name
}

/// Kills the child process when dropped, so a failing assertion cannot leak a server.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 GET over std::net; returns the status code and the body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = text(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    Ok((code, body.to_string()))
}

/// Starts `gossip-check explore` on a free loopback port; retries with another port if the one
/// found free was taken in between.
fn start_explorer() -> (KillOnDrop, u16) {
    for _attempt in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(BIN)
            .args(["explore", "--addr", &addr, "--nodes", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("explore starts");
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if child.0.try_wait().expect("try_wait").is_some() {
                break; // it exited: most likely the port was taken; try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("explore did not start listening on any of five free ports");
}

#[test]
fn explore_serves_the_status_json_and_the_page_on_a_loopback_port() {
    let (server, port) = start_explorer();

    let (code, body) = http_get(port, "/.status").expect("GET /.status");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
    assert!(
        status["model"]
            .as_str()
            .unwrap_or("")
            .contains("ExplorerGossip"),
        "{status}"
    );
    assert!(status["unique_state_count"].is_u64(), "{status}");
    let properties = status["properties"].as_array().expect("properties list");
    assert!(!properties.is_empty(), "{status}");
    // Two nodes without forget: "a node is forgotten" is served as expected-unreachable (an
    // `always` property that holds), not as a `sometimes` warning.
    let forgotten = format!(
        "{}{}",
        gossip_proofs::explorer::NOT_REACHABLE_PREFIX,
        gossip_model::properties::names::R_FORGOTTEN
    );
    assert!(
        properties
            .iter()
            .any(|p| p[0] == "Always" && p[1] == forgotten.as_str()),
        "{status}"
    );

    let (code, page) = http_get(port, "/").expect("GET /");
    assert_eq!(code, 200);
    assert!(page.to_lowercase().contains("<html"), "{page}");

    drop(server);
}

#[test]
fn list_variants_names_every_variant_with_its_expected_violation() {
    let out = gossip_check(&["--list-variants"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for v in gossip_model::Variant::all() {
        assert!(
            stdout.contains(v.name()),
            "{} missing in\n{stdout}",
            v.name()
        );
        if let Some(p) = v.expected_violation() {
            assert!(stdout.contains(p), "{p} missing in\n{stdout}");
        }
    }
}

#[test]
fn a_seeded_bug_is_caught_and_counts_as_the_expected_result() {
    let (stdout, json, violated) = check_seeded_bug("seeded-bug", &[]);
    assert!(stdout.contains("counterexample"), "{stdout}");
    let p = property(&json, violated);
    assert_eq!(p["expected"], "violated");
    let trace = p["trace"].as_array().expect("a violation has a trace");
    assert!(trace.len() >= 2, "{p}");
    assert_eq!(trace[0]["index"], 0);
    assert!(trace[1]["description"].as_str().is_some());
    assert!(trace[1]["state_summary"].as_str().is_some());
}

#[test]
fn the_safety_only_fair_checker_catches_a_seeded_bug_and_reports_its_storage() {
    let (stdout, json, violated) = check_seeded_bug(
        "safety-only",
        &[
            "--checker",
            "fair",
            "--safety-only",
            "--key-symmetry",
            "--threads",
            "2",
            "--memory-limit",
            "2G",
            "--time-limit",
            "120",
        ],
    );
    assert!(stdout.contains("storage: "), "{stdout}");
    assert_eq!(json["checker"], "fair");
    let p = property(&json, violated);
    assert!(p["trace"].as_array().is_some_and(|t| t.len() >= 2), "{p}");
    assert!(
        json["storage"]["bytes_per_state"].as_f64().is_some(),
        "{json}"
    );
}

#[test]
fn trace_out_writes_a_seeded_bugs_counterexample_as_a_gossip_trace() {
    let (variant, violated) = seeded_bug();
    let path = json_path("seeded-bug-trace");
    run_expecting(
        &[
            "--variant",
            variant,
            "--property",
            violated,
            "--trace-out",
            path.to_str().unwrap(),
        ],
        0,
    );
    let trace: gossip_model::trace::Trace =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(trace.format, gossip_model::trace::FORMAT);
    assert_eq!(trace.config.variant.name(), variant);
    assert!(!trace.steps.is_empty());
    assert!(
        trace.steps.iter().all(|s| s.expected.is_some()),
        "a counterexample has every state"
    );
    assert!(trace.source.unwrap().contains(violated));
}

#[test]
fn trace_out_writes_a_fair_lasso_as_a_gossip_trace_with_its_cycle() {
    let live = convergence_requirement();
    let path = json_path("push-once-lasso");
    let args = small_push_once(live, &["--quiet", "--trace-out", path.to_str().unwrap()]);
    run_expecting(&args, 0);
    let written = std::fs::read_to_string(&path).unwrap();
    let trace: gossip_model::trace::Trace = serde_json::from_str(&written).unwrap();
    assert!(trace.source.as_deref().unwrap().contains("lasso"));
    let c = trace.cycle_start.expect("a lasso has a cycle_start");
    assert!(c < trace.steps.len(), "a non-empty cycle");
    let model = trace.config.clone().into_model();
    assert!(trace.cycle_closes(&model), "the cycle returns to its start");
    assert!(trace.steps.iter().all(|s| s.expected.is_some()));
    // Re-serialising gives the same document (cycle_start included).
    let again = serde_json::to_string_pretty(&trace).unwrap();
    let back: gossip_model::trace::Trace = serde_json::from_str(&again).unwrap();
    assert_eq!(back, trace);
}

/// `--expect-correct` with the fair checker judges the leads-to requirements too (it panicked
/// on them: "unknown property"): the correct protocol exits 0, and `push-once`, whose lasso
/// violates convergence, exits 1 with that requirement failed.
#[test]
fn the_fair_checker_judges_leads_to_requirements_against_the_correct_protocol() {
    let mut correct = SMALL_FAIR.to_vec();
    correct.extend(["--expect-correct", "--quiet"]);
    run_expecting(&correct, 0);
    let live = convergence_requirement();
    let json = json_path("fair-expect-correct");
    let bug = small_push_once(
        live,
        &[
            "--expect-correct",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    run_expecting(&bug, 1);
    let json = read_json(&json);
    let p = property(&json, live);
    assert_eq!(p["expected"], "holds");
    assert_eq!(p["verdict"], "failed");
}

#[test]
fn a_seeded_bug_judged_against_the_correct_protocol_exits_one() {
    let (variant, violated) = seeded_bug();
    let json = json_path("expect-correct");
    let out = gossip_check(&[
        "--variant",
        variant,
        "--property",
        violated,
        "--expect-correct",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let json = read_json(&json);
    let p = property(&json, violated);
    assert_eq!(p["status"], "violated");
    assert_eq!(p["expected"], "holds");
    assert_eq!(p["verdict"], "failed");
}

#[test]
fn bad_arguments_exit_two_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--variant", "no-such-variant"], "variant"),
        (&["--property", "no such property"], "property"),
        (&["--nodes", "0"], "node"),
        (&["--faults", "loss,earthquake"], "fault"),
        (&["--checker", "bfs", "--symmetry"], "symmetry"),
        (&["--checker", "bfs", "--key-symmetry"], "symmetry"),
        (&["--safety-only"], "safety-only"),
        (
            &["--checker", "bfs", "--memory-limit", "8G"],
            "memory-limit",
        ),
        (
            &["--checker", "fair", "--safety-only", "--memory-limit", "8Q"],
            "unit",
        ),
        (&["--no-such-option"], "no-such-option"),
        (
            &["--faults", "loss", "--dup-as-redelivery"],
            "dup-as-redelivery",
        ),
        (
            &["--config-name", "no-such-configuration"],
            "configuration name",
        ),
        (&["--suite", "default", "--nodes", "3"], "--nodes"),
        (&["--suite", "default", "--checker", "bfs"], "--checker"),
        (
            &["--suite", "default", "--config-name", "data-cuts"],
            "--config-name",
        ),
        (
            &["--config", "x.json", "--config-name", "data-cuts"],
            "--config-name",
        ),
        (&["--suite", "everything"], "suite"),
        (
            &["--suite", "default", "--property", "no such property"],
            "property",
        ),
    ];
    for (args, needle) in cases {
        let out = gossip_check(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(needle),
            "{args:?}: the message should mention {needle:?}: {stderr}"
        );
    }
}

#[test]
fn list_configs_names_every_configuration_with_its_suites_and_features() {
    let stdout = run_expecting(&["--list-configs"], 0);
    for c in gossip_proofs::suite::table() {
        assert!(stdout.contains(c.name), "{} missing in\n{stdout}", c.name);
        assert!(stdout.contains(c.purpose), "{stdout}");
    }
    for column in [
        "gc", "crash", "restart", "convict", "forget", "leave", "loss", "dup",
    ] {
        assert!(stdout.contains(column), "{column} missing in\n{stdout}");
    }
}

/// A suite run restricted to one quickly found property (each configuration stops at its
/// first example) writes one `configurations` entry per configuration of the suite.
#[test]
fn a_suite_run_writes_one_json_entry_per_configuration_and_a_matrix() {
    let json = json_path("suite");
    let joined = gossip_model::properties::names::R_JOINED;
    let stdout = run_expecting(
        &[
            "--suite",
            "default",
            "--property",
            joined,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
        0,
    );
    assert!(stdout.contains("matrix ("), "{stdout}");
    let json = read_json(&json);
    assert_eq!(json["suite"], "default");
    assert_eq!(json["expectations_met"], true);
    let configs = json["configurations"].as_array().expect("configurations");
    let suite = gossip_proofs::suite::Suite::Default.configurations();
    assert_eq!(configs.len(), suite.len());
    for (c, named) in configs.iter().zip(&suite) {
        assert_eq!(c["name"], named.name);
        assert_eq!(c["complete"], true, "{c}");
        assert!(
            c["states"]["unique"].is_u64() && c["seconds"].is_f64(),
            "{c}"
        );
        let properties = c["properties"].as_array().expect("properties");
        assert_eq!(properties.len(), 1, "{c}");
        assert_eq!(properties[0]["name"], joined);
        assert_eq!(properties[0]["status"], "found");
    }
}

#[test]
fn a_named_configuration_meets_every_expectation_and_writes_the_documented_json() {
    let json = json_path("named");
    let started = Instant::now();
    let out = gossip_check_within(
        &[
            "--config-name",
            "data-cuts",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
        Duration::from_secs(180),
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("reads are linearizable: violated (expected)"),
        "{stdout}"
    );
    eprintln!("data-cuts took {:?}", started.elapsed());

    let json = read_json(&json);
    assert!(json["config"].is_object(), "config");
    assert_eq!(json["checker"], "fair");
    let configs = json["configurations"].as_array().expect("configurations");
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0]["name"], "data-cuts");
    assert_eq!(configs[0]["states"], json["states"]);
    assert_eq!(json["complete"], true);
    for field in ["unique", "total", "max_depth"] {
        assert!(json["states"][field].is_u64(), "states.{field}");
    }
    assert!(json["seconds"].is_f64(), "seconds");
    let properties = json["properties"].as_array().expect("properties");
    assert!(!properties.is_empty());
    for p in properties {
        assert!(p["name"].is_string(), "{p}");
        assert!(
            ["always", "eventually", "sometimes"].contains(&p["kind"].as_str().unwrap()),
            "{p}"
        );
        assert!(
            ["holds", "violated", "found", "not_found", "unknown"]
                .contains(&p["status"].as_str().unwrap()),
            "{p}"
        );
        assert!(
            ["holds", "violated", "found", "not_found"].contains(&p["expected"].as_str().unwrap()),
            "{p}"
        );
        if let Some(trace) = p.get("trace") {
            for (i, step) in trace.as_array().unwrap().iter().enumerate() {
                assert_eq!(step["index"], i as u64);
                assert!(step.get("action").is_some());
                assert!(step["description"].is_string());
                assert!(step["state_summary"].is_string());
            }
        }
    }
    let demo = &json["demos"][0];
    let linearizable = property(demo, "reads are linearizable");
    assert_eq!(linearizable["status"], "violated");
    assert_eq!(linearizable["expected"], "violated");
    assert!(linearizable["trace"].as_array().is_some());
}

#[test]
fn a_max_states_bound_reports_an_incomplete_run_and_unknown_properties() {
    let json = json_path("bounded");
    let out = gossip_check(&[
        "--max-states",
        "2000",
        "--no-demo",
        "--faults",
        "loss,dup,reorder,crash",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = read_json(&json);
    assert_eq!(json["complete"], false);
    let statuses: Vec<_> = json["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap().to_string())
        .collect();
    assert!(statuses.iter().any(|s| s == "unknown"), "{statuses:?}");
    assert!(!statuses.iter().any(|s| s == "holds" || s == "not_found"));
}

#[test]
fn every_model_option_alone_means_one_configuration_not_the_default_suite() {
    // `--digest-entries` alone once fell through to the default suite and was ignored.
    for option in [
        &["--digest-entries", "3"][..],
        &["--writers", "1"],
        &["--max-heartbeat", "1"],
        &["--prune-dead-messages"],
    ] {
        let mut args = option.to_vec();
        args.extend(["--no-demo", "--max-states", "50"]);
        let out = gossip_check(&args);
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with("gossip-check: variant correct, 3 nodes"),
            "{option:?}: {stdout}"
        );
        assert!(!stdout.contains("suite default"), "{option:?}: {stdout}");
    }
}
