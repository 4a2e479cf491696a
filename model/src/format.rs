//! Human-readable protocol events and states ("n1 writes k0=a (version 1)").

use std::fmt::Write;

use stateright::Model;

use crate::{
    Change, DeltaKind, DigestEntry, DigestRange, GossipAction, GossipModel, GossipState, Msg,
    NodeDelta, NodeView, Status, Update,
};

fn value(v: u8) -> char {
    (b'a' + v) as char
}

fn digest(d: &[DigestEntry]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|e| {
            format!(
                "n{} g{} h{} w{}",
                e.node, e.generation, e.heartbeat, e.watermark
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A digest with its range if partial: `[n0 g1 h1 w0, n1 g1 h0 w0] n1..n2`.
fn digest_in(d: &[DigestEntry], range: &Option<DigestRange>) -> String {
    match range {
        None => digest(d),
        Some(r) => format!("{} n{}..n{}", digest(d), r.start, r.end),
    }
}

fn update(u: &Update) -> String {
    match u.change {
        Change::Set { key, value: v } => format!("{}:k{key}={}", u.version, value(v)),
        Change::Delete { key } => format!("{}:del k{key}", u.version),
        Change::Leave => format!("{}:leave", u.version),
    }
}

fn node_delta(d: &NodeDelta) -> String {
    let kind = match d.kind {
        DeltaKind::Incremental { from } => format!("from {from}"),
        DeltaKind::Reset { gc_floor } => format!("reset gc{gc_floor}"),
    };
    let ups: Vec<String> = d.updates.iter().map(update).collect();
    format!(
        "n{} g{} h{} {kind} [{}] →w{}",
        d.node,
        d.generation,
        d.heartbeat,
        ups.join(" "),
        d.watermark_after
    )
}

fn delta(d: &[NodeDelta]) -> String {
    let parts: Vec<String> = d.iter().map(node_delta).collect();
    format!("{{{}}}", parts.join("; "))
}

/// A message, e.g. `Syn [n0 g1 h1 w1]`.
pub fn msg(m: &Msg) -> String {
    match m {
        // A Syn leaves out an empty digest, or else an empty delta.
        Msg::Syn {
            digest: d,
            delta: x,
            range: r,
        } => match (d.is_empty(), x.is_empty()) {
            (true, _) => format!("Syn {}", delta(x)),
            (false, true) => format!("Syn {}", digest_in(d, r)),
            (false, false) => format!("Syn {} {}", digest_in(d, r), delta(x)),
        },
        // A SynAck leaves out an empty digest only.
        Msg::SynAck {
            digest: d,
            delta: x,
            ..
        } if d.is_empty() => format!("SynAck {}", delta(x)),
        Msg::SynAck {
            digest: d,
            delta: x,
            range: r,
        } => format!("SynAck {} {}", digest_in(d, r), delta(x)),
        Msg::Ack { delta: x } => format!("Ack {}", delta(x)),
    }
}

/// An action without its context.
pub fn action(a: &GossipAction) -> String {
    match a {
        GossipAction::Write {
            node,
            key,
            value: v,
        } => {
            format!("n{node} writes k{key}={}", value(*v))
        }
        GossipAction::Delete { node, key } => format!("n{node} deletes k{key}"),
        GossipAction::Gossip { from, to } => {
            let to: Vec<String> = to.iter().map(|t| format!("n{t}")).collect();
            format!("n{from} gossips with {}", to.join(", "))
        }
        GossipAction::Deliver(e) => format!("n{} → n{} {}", e.from, e.to, msg(&e.msg)),
        GossipAction::Drop(e) => format!("network drops {} n{}→n{}", e.msg.kind(), e.from, e.to),
        GossipAction::Duplicate(e) => {
            format!("network duplicates {} n{}→n{}", e.msg.kind(), e.from, e.to)
        }
        GossipAction::Redeliver(e) => format!(
            "network duplicates, n{} → n{} {} (a copy stays in flight)",
            e.from,
            e.to,
            msg(&e.msg)
        ),
        GossipAction::Crash { node } => format!("n{node} crashes"),
        GossipAction::Restart { node } => format!("n{node} restarts"),
        GossipAction::Leave { node } => format!("n{node} leaves"),
        GossipAction::Convict { observer, subject } => {
            format!("n{observer} convicts n{subject}")
        }
        GossipAction::Forget { observer, subject } => format!("n{observer} forgets n{subject}"),
        GossipAction::CollectTombstones { node, subject } => {
            format!("n{node} collects the tombstones of n{subject}")
        }
        GossipAction::Expire { observer, subject } => {
            format!("n{observer}'s forgotten record of n{subject} expires")
        }
    }
}

/// An action in the state it is taken from (adds versions and generations).
pub fn step(m: &GossipModel, s: &GossipState, a: &GossipAction) -> String {
    let own = |n: u8| &s.nodes[n as usize].view[&n];
    match a {
        GossipAction::Write { node, .. } | GossipAction::Delete { node, .. } => {
            format!("{} (version {})", action(a), own(*node).watermark + 1)
        }
        GossipAction::Leave { node } => {
            format!("{} (version {})", action(a), own(*node).watermark + 1)
        }
        GossipAction::Restart { node } => {
            let g = own(*node).generation;
            let g = if m.cfg.variant == crate::Variant::ReuseGenerationOnRestart {
                g
            } else {
                g + 1
            };
            format!("{} (generation {g})", action(a))
        }
        GossipAction::Deliver(e) if !s.nodes[e.to as usize].up => {
            format!("{} (lost: n{} is down)", action(a), e.to)
        }
        _ => action(a),
    }
}

/// One line per view: `n1: g1 h2 w1 gc0 alive {k0=1:a}`.
pub fn view(v: &NodeView) -> String {
    let entries: Vec<String> = v
        .entries
        .iter()
        .map(|(k, (ver, val))| match val {
            Some(x) => format!("k{k}={ver}:{}", value(*x)),
            None => format!("k{k}={ver}:†"),
        })
        .collect();
    let status = match v.status {
        Status::Alive => "alive",
        Status::Dead => "dead",
        Status::Left => "left",
    };
    let left = v.left.map(|l| format!(" leave@{l}")).unwrap_or_default();
    format!(
        "g{} h{} w{} gc{} {status}{left} {{{}}}",
        v.generation,
        v.heartbeat,
        v.watermark,
        v.gc_floor,
        entries.join(", ")
    )
}

/// Multi-line: what each node believes, then the network.
pub fn state(s: &GossipState) -> String {
    let mut out = String::new();
    for (i, n) in s.nodes.iter().enumerate() {
        let _ = writeln!(
            out,
            "n{i}{}{}:",
            if n.up { "" } else { " (crashed)" },
            if n.seed { " [seed]" } else { "" }
        );
        for (m, v) in &n.view {
            let _ = writeln!(out, "  n{m}: {}", view(v));
        }
        for (m, f) in &n.forgotten {
            let _ = writeln!(
                out,
                "  n{m}: forgotten at g{} h{}{}",
                f.generation,
                f.heartbeat,
                if f.left { " (left)" } else { "" }
            );
        }
    }
    if s.network.is_empty() {
        out.push_str("network: empty\n");
    } else {
        out.push_str("network:\n");
        for e in &s.network {
            let _ = writeln!(out, "  n{} → n{} {}", e.from, e.to, msg(&e.msg));
        }
    }
    if !s.violations.is_empty() {
        let _ = writeln!(out, "violations: {:?}", s.violations);
    }
    out
}

/// A run of `actions` from the model's initial state, rendered as `gossip-check` renders a
/// counterexample: numbered events ([`step`]), each followed by the state it leads to
/// ([`state`]); it stops at the first action the model does not enable.
pub fn run(m: &GossipModel, actions: &[GossipAction]) -> String {
    let mut out = String::new();
    let width = (actions.len() + 1).to_string().len();
    let show = |out: &mut String, s: &GossipState| {
        for line in state(s).lines() {
            let _ = writeln!(out, "  {:>width$}    | {line}", "");
        }
    };
    let mut s = m.init_states().remove(0);
    let _ = writeln!(out, "  {:>width$}. initial state", 0);
    show(&mut out, &s);
    for (i, a) in actions.iter().enumerate() {
        let _ = writeln!(out, "  {:>width$}. {}", i + 1, step(m, &s, a));
        match m.next_state(&s, a.clone()) {
            Some(t) => s = t,
            None => {
                let _ = writeln!(out, "  {:>width$}    | (not enabled in the model)", "");
                break;
            }
        }
        show(&mut out, &s);
    }
    out
}
