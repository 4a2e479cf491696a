//! Pictures of counterexamples: the SVG message sequence chart of a run (`chart`), the
//! `gossip-check --trace-svg` flag end to end, and the Explorer's chart and readable state.
//! Every SVG is parsed with an XML parser (roxmltree), not by hand.

use gossip_model::properties::names::NO_OLDER_GENERATION;
use gossip_model::{GossipAction, GossipConfig, GossipState, NetworkConfig, Variant};
use gossip_proofs::chart::{self, ChartOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stateright::Model as _;

const BIN: &str = env!("CARGO_BIN_EXE_gossip-check");

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()))
}

/// What a chart shows, counted from its parsed XML.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    lifelines: Vec<String>,
    arrows: usize,
    crosses: usize,
    copies: usize,
    redelivered: usize,
    in_flight: usize,
    crashes: usize,
    marks: usize,
    labels: Vec<String>,
}

fn has_class(n: &roxmltree::Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

fn count(svg: &str) -> Counts {
    let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let mut c = Counts::default();
    for n in root.descendants().filter(|n| n.is_element()) {
        if has_class(&n, "gc-lifeline") {
            c.lifelines
                .push(n.attribute("data-node").unwrap_or_default().to_string());
        }
        if has_class(&n, "gc-msg") {
            c.arrows += 1;
            c.copies += usize::from(has_class(&n, "gc-copy"));
            c.redelivered += usize::from(has_class(&n, "gc-redelivered"));
            c.in_flight += usize::from(has_class(&n, "gc-in-flight"));
            let label = n
                .children()
                .find(|t| has_class(t, "gc-label"))
                .and_then(|t| t.text())
                .unwrap_or_default();
            c.labels.push(label.to_string());
        }
        if has_class(&n, "gc-cross") {
            c.crosses += 1;
        }
        if has_class(&n, "gc-mark") {
            c.marks += 1;
            c.crashes += usize::from(has_class(&n, "gc-crash"));
        }
    }
    c
}

/// The counts a run must produce, from its actions and states alone.
fn expected_counts(init: &GossipState, steps: &[(GossipAction, GossipState)]) -> Counts {
    let mut c = Counts {
        lifelines: (0..init.nodes.len()).map(|n| format!("n{n}")).collect(),
        ..Counts::default()
    };
    let mut prev = init;
    for (a, next) in steps {
        match a {
            GossipAction::Deliver(e) => {
                c.arrows += 1;
                c.crosses += usize::from(!prev.nodes[e.to as usize].up);
            }
            GossipAction::Drop(_) => {
                c.arrows += 1;
                c.crosses += 1;
            }
            GossipAction::Redeliver(_) => {
                c.arrows += 1;
                c.redelivered += 1;
            }
            GossipAction::Crash { .. } => {
                c.crashes += 1;
                c.marks += 1;
            }
            GossipAction::Duplicate(_) => {}
            _ => c.marks += 1,
        }
        prev = next;
    }
    c.arrows += prev.network.len();
    c.in_flight = prev.network.len();
    c
}

fn walk(
    cfg: &GossipConfig,
    seed: u64,
    len: usize,
) -> (GossipState, Vec<(GossipAction, GossipState)>) {
    let model = cfg.clone().into_model();
    let init = model.init_states().remove(0);
    let mut s = init.clone();
    let mut steps = Vec::new();
    let mut x = seed;
    for _ in 0..len {
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        if actions.is_empty() {
            break;
        }
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = actions[((x >> 33) as usize) % actions.len()].clone();
        if let Some(t) = model.next_state(&s, a.clone()) {
            steps.push((a, t.clone()));
            s = t;
        }
    }
    (init, steps)
}

#[test]
fn a_chart_draws_one_lifeline_per_node_and_one_arrow_per_delivered_lost_or_pending_message() {
    // Loss, duplication, a crash and a restart, convict and forget: every kind of arrow and mark.
    let cfg = GossipConfig {
        nodes: 3,
        writes_per_node: 1,
        crashes: 1,
        restarts: 1,
        forget: true,
        network: NetworkConfig {
            lossy: true,
            duplicating: true,
            max_in_flight: 3,
            ..NetworkConfig::default()
        },
        ..GossipConfig::default()
    };
    let model = cfg.clone().into_model();
    let mut kinds = std::collections::HashSet::new();
    for seed in 0..40 {
        let (init, steps) = walk(&cfg, seed, 40);
        for (a, _) in &steps {
            kinds.insert(std::mem::discriminant(a));
        }
        let svg = chart::draw(&model, &init, &steps, &ChartOptions::default());
        let got = count(&svg);
        let want = expected_counts(&init, &steps);
        assert_eq!(got.lifelines, want.lifelines, "seed {seed}");
        assert_eq!(got.arrows, want.arrows, "seed {seed}");
        assert_eq!(got.crosses, want.crosses, "seed {seed}");
        assert_eq!(got.in_flight, want.in_flight, "seed {seed}");
        assert_eq!(got.crashes, want.crashes, "seed {seed}");
        assert_eq!(got.marks, want.marks, "seed {seed}");
        for l in &got.labels {
            assert!(
                ["Syn", "SynAck", "Ack"].iter().any(|k| l.contains(k)),
                "seed {seed}: label {l:?}"
            );
        }
    }
    // The walks met deliveries, drops, duplicates and crashes.
    for a in [
        GossipAction::Crash { node: 0 },
        GossipAction::Drop(dummy()),
        GossipAction::Duplicate(dummy()),
        GossipAction::Deliver(dummy()),
    ] {
        assert!(
            kinds.contains(&std::mem::discriminant(&a)),
            "{a:?} never drawn"
        );
    }
}

fn dummy() -> gossip_model::Envelope {
    gossip_model::Envelope {
        from: 0,
        to: 1,
        msg: gossip_model::Msg::Ack { delta: vec![] },
    }
}

#[test]
fn a_duplicated_copy_starts_at_the_original_send_and_a_redelivery_is_marked() {
    let cfg = GossipConfig {
        nodes: 2,
        writes_per_node: 1,
        network: NetworkConfig {
            duplicating: true,
            max_in_flight: 2,
            ..NetworkConfig::default()
        },
        ..GossipConfig::default()
    };
    let model = cfg.clone().into_model();
    let s0 = model.init_states().remove(0);
    let gossip = GossipAction::Gossip {
        from: 1,
        to: vec![0],
    };
    let s1 = model.next_state(&s0, gossip.clone()).expect("n1 gossips");
    let syn = s1.network[0].clone();
    let dup = GossipAction::Duplicate(syn.clone());
    let s2 = model
        .next_state(&s1, dup.clone())
        .expect("the network duplicates");
    let deliver = GossipAction::Deliver(syn.clone());
    let s3 = model.next_state(&s2, deliver.clone()).expect("delivered");
    let s4 = model
        .next_state(&s3, deliver.clone())
        .expect("the copy is delivered");
    let steps = vec![
        (gossip, s1),
        (dup, s2),
        (deliver.clone(), s3),
        (deliver, s4),
    ];
    let svg = chart::draw(&model, &s0, &steps, &ChartOptions::default());
    let c = count(&svg);
    assert_eq!(c.copies, 1, "{svg}");
    // Both copies' arrows start at the send (row 1): the same y1.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let y1s: Vec<&str> = doc
        .descendants()
        .filter(|n| has_class(n, "gc-msg"))
        .filter(|n| {
            n.children()
                .find(|t| t.has_tag_name("title"))
                .and_then(|t| t.text())
                .is_some_and(|t| t.starts_with("n1 → n0 Syn "))
        })
        .filter_map(|n| n.children().find(|l| l.has_tag_name("line")))
        .filter_map(|l| l.attribute("y1"))
        .collect();
    assert_eq!(y1s.len(), 2, "{svg}");
    assert_eq!(y1s[0], y1s[1]);

    // With duplication as redelivery, the delivery that keeps the message is marked.
    let cfg = GossipConfig {
        network: NetworkConfig {
            redeliver: true,
            max_in_flight: 1,
            ..cfg.network
        },
        ..cfg
    };
    let model = cfg.clone().into_model();
    let s0 = model.init_states().remove(0);
    let gossip = GossipAction::Gossip {
        from: 1,
        to: vec![0],
    };
    let s1 = model.next_state(&s0, gossip.clone()).unwrap();
    let redeliver = GossipAction::Redeliver(s1.network[0].clone());
    let s2 = model
        .next_state(&s1, redeliver.clone())
        .expect("redelivered");
    let svg = chart::draw(
        &model,
        &s0,
        &[(gossip, s1), (redeliver, s2.clone())],
        &ChartOptions::default(),
    );
    let c = count(&svg);
    assert_eq!(c.redelivered, 1);
    assert_eq!(c.in_flight, s2.network.len());
}

#[test]
fn a_message_abbreviation_shows_digest_and_delta_compactly() {
    let cfg = GossipConfig {
        nodes: 2,
        writes_per_node: 1,
        ..GossipConfig::default()
    };
    let model = cfg.into_model();
    let s0 = model.init_states().remove(0);
    let s1 = model
        .next_state(
            &s0,
            GossipAction::Write {
                node: 1,
                key: 0,
                value: 0,
            },
        )
        .unwrap();
    let s2 = model
        .next_state(
            &s1,
            GossipAction::Gossip {
                from: 1,
                to: vec![0],
            },
        )
        .unwrap();
    // A push-pull Syn carries the digest only: n1 at generation 1, heartbeat 1, watermark 1.
    assert_eq!(chart::abbreviate(&s2.network[0].msg), "Syn d[n1:1/1/1]");
    // n0 answers with its own digest and a delta of its heartbeat; n1's Ack carries the write.
    let s3 = model
        .next_state(&s2, GossipAction::Deliver(s2.network[0].clone()))
        .unwrap();
    let synack = chart::abbreviate(&s3.network[0].msg);
    assert!(
        synack.starts_with("SynAck d[n0:1/0/0] Δ[n0:g1 h0]"),
        "{synack}"
    );
    let s4 = model
        .next_state(&s3, GossipAction::Deliver(s3.network[0].clone()))
        .unwrap();
    assert_eq!(chart::abbreviate(&s4.network[0].msg), "Ack Δ[n1:g1 k0=a@1]");
}

/// The pinned counterexample: `accept-older-generation` in its witness configuration, BFS,
/// the shortest trace (8 steps, pinned in model/tests/seeded_bugs.rs).
#[test]
fn trace_svg_draws_the_pinned_counterexample_of_a_seeded_bug() {
    let svg_path = tmp("older-generation.svg");
    let trace_path = tmp("older-generation.trace.json");
    let out = Command::new(BIN)
        .args([
            "--variant",
            "accept-older-generation",
            "--property",
            NO_OLDER_GENERATION,
            "--quiet",
            "--trace-svg",
            svg_path.to_str().unwrap(),
            "--trace-out",
            trace_path.to_str().unwrap(),
        ])
        .output()
        .expect("gossip-check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("chart of the counterexample for") && stdout.contains("(8 steps)"),
        "{stdout}"
    );
    let svg = std::fs::read_to_string(&svg_path).expect("the chart was written");
    let trace: gossip_model::trace::Trace =
        serde_json::from_str(&std::fs::read_to_string(&trace_path).unwrap()).unwrap();
    assert_eq!(trace.steps.len(), 8);

    // The counts follow from the trace itself.
    let model = Variant::AcceptOlderGeneration.witness_config().into_model();
    let init = model.init_states().remove(0);
    let mut s = init.clone();
    let mut steps = Vec::new();
    for a in trace.actions() {
        s = model.next_state(&s, a.clone()).expect("the trace replays");
        steps.push((a, s.clone()));
    }
    let want = expected_counts(&init, &steps);
    let got = count(&svg);
    assert_eq!(got.lifelines, ["n0", "n1"]);
    assert_eq!(got.arrows, want.arrows);
    assert_eq!(got.crosses, want.crosses);
    assert_eq!(got.crashes, 1, "the bug needs a crash and a restart");
    assert_eq!(got.marks, want.marks);
    // Pinned: the shortest counterexample's shape.
    assert_eq!(
        (got.arrows, got.marks),
        (PINNED_ARROWS, PINNED_MARKS),
        "{svg}"
    );
    assert!(svg.contains(NO_OLDER_GENERATION));
}

/// Two Syns and two SynAcks delivered, two Acks still in flight; two gossip rounds, a crash
/// and a restart.
const PINNED_ARROWS: usize = 6;
const PINNED_MARKS: usize = 4;

#[test]
fn trace_svg_without_a_trace_writes_nothing_and_says_so() {
    let svg_path = tmp("no-trace.svg");
    let out = Command::new(BIN)
        .args([
            "--nodes",
            "1",
            "--writes",
            "0",
            "--property",
            NO_OLDER_GENERATION,
            "--quiet",
            "--trace-svg",
            svg_path.to_str().unwrap(),
        ])
        .output()
        .expect("gossip-check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("--trace-svg: no counterexample or example to draw"),
        "{stdout}"
    );
    assert!(!svg_path.exists());
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (_, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    Ok(body.to_string())
}

#[test]
fn the_explorer_shows_readable_states_and_draws_the_path_as_a_chart() {
    let mut server = None;
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(BIN)
            .args([
                "explore",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--nodes",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("explore starts");
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if child.0.try_wait().expect("try_wait").is_some() {
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                server = Some((child, port));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if server.is_some() {
            break;
        }
    }
    let (_server, port) = server.expect("explore listens");
    let body = http_get(port, "/.states").expect("GET /.states");
    let init: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let init = &init[0];
    let state = init["state"].as_str().expect("a state");
    assert!(state.starts_with("n0 [seed]:\n  n0: g1"), "{state}");
    assert!(state.contains("network: empty"), "{state}");
    assert!(
        !state.contains("history") && !state.contains("violations"),
        "{state}"
    );
    let svg = init["svg"].as_str().expect("an svg");
    assert_eq!(count(svg).lifelines, ["n0", "n1"]);

    // One step further: n1 gossips with n0, and the chart shows the Syn in flight.
    let fp = init["fingerprint"].as_str().unwrap();
    let next: serde_json::Value =
        serde_json::from_str(&http_get(port, &format!("/.states/{fp}")).unwrap()).unwrap();
    let gossip = next
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"].as_str().is_some_and(|a| a.contains("gossips")))
        .expect("a gossip round is enabled");
    let c = count(gossip["svg"].as_str().unwrap());
    assert_eq!((c.arrows, c.in_flight), (1, 1));
}
