//! Pictures of runs: any run of the gossip model (a counterexample, an example, an Explorer
//! path) drawn as an SVG message sequence chart.
//!
//! One lifeline per node (dashed while the node is crashed), one row per step, and:
//!
//! * an arrow from a message's send to its delivery, labelled with the message abbreviated
//!   (`Syn d[n0:1/1/0 n1:1/0/0]`, `SynAck Δ[n1:g1 k0=a@1]`; the full text is the arrow's
//!   tooltip): digest entries are `node:generation/heartbeat/watermark`, delta entries
//!   `node:g<generation> <update>@<version>…` (`reset` for a reset delta, `h<heartbeat>` when it
//!   carries no update);
//! * a lost message (dropped by the network, delivered to a crashed node, or removed from the
//!   network by a reduction) as an arrow ending in a cross;
//! * a duplicated copy as a dashed arrow from the original send, marked `copy`; a redelivery
//!   (a delivery that leaves the message in flight) as a dashed arrow marked `redelivered`;
//! * a message still in flight at the end as a dotted arrow below the last row;
//! * crashes, restarts, convictions, forgets, leaves, writes, deletes, tombstone collections
//!   and gossip rounds as marks on the lifelines, and each step's description on the right.
//!
//! This module draws, it does not decide: who sent what is read from the difference between
//! the network of one state and the next (a message that appears was sent by its `from`), and
//! versions and generations from the states. It holds no protocol rule, so it stays correct
//! when the model changes. It lives in `gossip-proofs`, next to the other presentations of runs
//! (`report`), not in the model, whose source is the specification and stays small.

use gossip_model::{
    Change, DeltaKind, DigestEntry, Envelope, GossipAction, GossipModel, GossipState, Msg,
    NodeDelta,
};
use stateright::Model as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How a chart is titled and annotated.
#[derive(Clone, Debug, Default)]
pub struct ChartOptions {
    /// The heading (e.g. "counterexample: no zombie").
    pub title: String,
    /// For a lasso: the index of the first step of the cycle (1-based step numbers, as in the
    /// text traces; the cycle starts after step `cycle_start`), drawn as a dashed rule.
    pub cycle_start: Option<usize>,
}

/// A run could not be replayed in the model.
#[derive(Debug, thiserror::Error)]
#[error("step {step} ({action}) is not enabled in the model")]
pub struct NotEnabled {
    /// The 1-based step number.
    pub step: usize,
    /// The action, as text.
    pub action: String,
}

/// Replays `actions` from the model's (first) initial state and draws the run.
pub fn draw_actions(
    model: &GossipModel,
    actions: &[GossipAction],
    options: &ChartOptions,
) -> Result<String, NotEnabled> {
    let init = model.init_states().remove(0);
    let mut steps = Vec::with_capacity(actions.len());
    let mut s = init.clone();
    for (i, a) in actions.iter().enumerate() {
        s = model.next_state(&s, a.clone()).ok_or_else(|| NotEnabled {
            step: i + 1,
            action: gossip_model::format::action(a),
        })?;
        steps.push((a.clone(), s.clone()));
    }
    Ok(draw(model, &init, &steps, options))
}

/// Draws a run: the initial state, then each action with the state it leads to.
pub fn draw(
    model: &GossipModel,
    init: &GossipState,
    steps: &[(GossipAction, GossipState)],
    options: &ChartOptions,
) -> String {
    let nodes = init.nodes.len();
    let rows = steps.len();
    let events = collect(init, steps);

    let x = |lane: usize| LEFT + lane as f64 * LANE;
    let y = |row: usize| TOP + row as f64 * ROW;
    let text_x = x(nodes.saturating_sub(1)) + LANE * 0.6;
    let width = text_x + DESCRIPTION_WIDTH;
    // One more row below the last step, for the messages still in flight.
    let height = y(rows + 1) + ROW * 0.5;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns='http://www.w3.org/2000/svg' version='1.1' width='{width:.0}' \
         height='{height:.0}' viewBox='0 0 {width:.0} {height:.0}' class='gc-chart' \
         font-family='monospace' font-size='11'>"
    );
    svg.push_str(STYLE);
    let _ = write!(
        svg,
        "<text x='8' y='18' class='gc-title'>{}</text>",
        escape(&options.title)
    );

    // Lifelines: solid while the node runs, dashed while it is crashed.
    let up = |row: usize, n: usize| {
        if row == 0 {
            init.nodes[n].up
        } else {
            steps[row - 1].1.nodes[n].up
        }
    };
    for n in 0..nodes {
        let _ = write!(svg, "<g class='gc-lifeline' data-node='n{n}'>");
        let _ = write!(
            svg,
            "<text x='{:.1}' y='{:.1}' class='gc-head'>n{n}{}</text>",
            x(n),
            y(0) - 14.0,
            if init.nodes[n].seed { " (seed)" } else { "" }
        );
        let mut start = 0;
        for row in 1..=rows + 1 {
            if row == rows + 1 || up(row, n) != up(start, n) {
                let class = if up(start, n) { "gc-up" } else { "gc-down" };
                let _ = write!(
                    svg,
                    "<line x1='{0:.1}' y1='{1:.1}' x2='{0:.1}' y2='{2:.1}' class='{class}'/>",
                    x(n),
                    y(start),
                    y(row.min(rows)) + if row > rows { ROW } else { 0.0 }
                );
                start = row;
            }
        }
        svg.push_str("</g>");
    }

    // Step numbers, descriptions, and the cycle rule of a lasso.
    let mut from = init;
    for (i, (action, to)) in steps.iter().enumerate() {
        let row = i + 1;
        let text = model
            .format_step(from, action.clone())
            .unwrap_or_else(|| model.format_action(action));
        let _ = write!(
            svg,
            "<text x='8' y='{:.1}' class='gc-step'>{row}</text>\
             <text x='{text_x:.1}' y='{:.1}' class='gc-desc'><title>{}</title>{}</text>",
            y(row) + 4.0,
            y(row) + 4.0,
            escape(&text),
            escape(&shorten(&text, DESCRIPTION_CHARS))
        );
        from = to;
    }
    if let Some(c) = options.cycle_start.filter(|&c| c <= rows) {
        let ry = y(c) + ROW * 0.5;
        let _ = write!(
            svg,
            "<line x1='8' y1='{ry:.1}' x2='{width:.1}' y2='{ry:.1}' class='gc-cycle'/>\
             <text x='{:.1}' y='{:.1}' class='gc-cycle-label'>the cycle starts here and \
             repeats forever</text>",
            text_x,
            ry - 3.0
        );
    }

    // Node events.
    for e in &events.marks {
        let (cx, cy) = (x(e.lane), y(e.row));
        let _ = write!(svg, "<g class='gc-mark gc-{}'>", e.kind.class());
        match e.kind {
            MarkKind::Crash => {
                let _ = write!(
                    svg,
                    "<line x1='{:.1}' y1='{:.1}' x2='{:.1}' y2='{:.1}'/>\
                     <line x1='{:.1}' y1='{:.1}' x2='{:.1}' y2='{:.1}'/>",
                    cx - 7.0,
                    cy - 7.0,
                    cx + 7.0,
                    cy + 7.0,
                    cx - 7.0,
                    cy + 7.0,
                    cx + 7.0,
                    cy - 7.0
                );
            }
            MarkKind::Round => {
                let _ = write!(
                    svg,
                    "<rect x='{:.1}' y='{:.1}' width='8' height='8'/>",
                    cx - 4.0,
                    cy - 4.0
                );
            }
            _ => {
                let _ = write!(svg, "<circle cx='{cx:.1}' cy='{cy:.1}' r='5'/>");
            }
        }
        let _ = write!(
            svg,
            "<text x='{:.1}' y='{:.1}'>{}</text></g>",
            cx + 9.0,
            cy - 6.0,
            escape(&e.label)
        );
    }

    // Messages.
    for a in &events.arrows {
        let (x1, y1) = (x(a.from_lane), y(a.sent));
        let (mut x2, y2) = (x(a.to_lane), TOP + a.ended * ROW);
        if a.fate == Fate::Dropped || a.fate == Fate::InFlight {
            // Lost on the way, or still on the way: the arrow stops short of the receiver.
            x2 = x1 + (x2 - x1) * 0.6;
        }
        let mut classes = vec!["gc-msg", a.fate.class()];
        if a.copy {
            classes.push("gc-copy");
        }
        let ends_in_cross = a.fate.lost();
        let _ = write!(
            svg,
            "<g class='{}'><title>{}</title><line x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' \
             y2='{y2:.1}'{}/>",
            classes.join(" "),
            escape(&a.full),
            if ends_in_cross {
                ""
            } else {
                " marker-end='url(#gc-arrow)'"
            }
        );
        if ends_in_cross {
            let _ = write!(
                svg,
                "<path class='gc-cross' d='M{:.1},{:.1} l10,10 M{:.1},{:.1} l10,-10'/>",
                x2 - 5.0,
                y2 - 5.0,
                x2 - 5.0,
                y2 + 5.0
            );
        }
        let mut label = a.label.clone();
        if let Some(note) = a.fate.note(a.copy) {
            label = format!("{note} {label}");
        }
        let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 3.0);
        let _ = write!(
            svg,
            "<text x='{mx:.1}' y='{my:.1}' class='gc-label'>{}</text></g>",
            escape(&label)
        );
    }
    svg.push_str("</svg>");
    svg
}

const LEFT: f64 = 60.0;
const TOP: f64 = 56.0;
const LANE: f64 = 250.0;
const ROW: f64 = 34.0;
const DESCRIPTION_WIDTH: f64 = 640.0;
const DESCRIPTION_CHARS: usize = 100;
const LABEL_CHARS: usize = 44;

const STYLE: &str = "<defs><marker id='gc-arrow' markerWidth='10' markerHeight='8' refX='10' \
     refY='4' orient='auto'><polygon points='0 0, 10 4, 0 8'/></marker></defs>\
     <style>\
     .gc-chart{background:#fff}\
     .gc-title{font-weight:bold;font-size:13px}\
     .gc-head{font-weight:bold;text-anchor:middle}\
     .gc-up{stroke:#333;stroke-width:2}\
     .gc-down{stroke:#bbb;stroke-width:2;stroke-dasharray:4 4}\
     .gc-step{fill:#888}\
     .gc-desc{fill:#333}\
     .gc-cycle{stroke:#a0a;stroke-dasharray:8 4}\
     .gc-cycle-label{fill:#a0a}\
     .gc-msg line{stroke:#1565c0;stroke-width:1.3}\
     .gc-msg.gc-copy line,.gc-msg.gc-redelivered line{stroke-dasharray:6 3}\
     .gc-msg.gc-dropped line,.gc-msg.gc-lost-down line,.gc-msg.gc-pruned line{stroke:#c62828}\
     .gc-msg.gc-in-flight line{stroke:#888;stroke-dasharray:2 3}\
     .gc-cross{stroke:#c62828;stroke-width:2}\
     .gc-label{text-anchor:middle;fill:#0d47a1}\
     .gc-mark text{fill:#333}\
     .gc-mark circle,.gc-mark rect{fill:#555}\
     .gc-crash line{stroke:#c62828;stroke-width:3}\
     .gc-crash text,.gc-convict text{fill:#c62828}\
     .gc-restart circle{fill:#2e7d32}\
     .gc-convict circle{fill:#ef6c00}\
     .gc-forget circle{fill:#6a1b9a}\
     .gc-leave circle{fill:#00838f}\
     .gc-write circle{fill:#1565c0}\
     .gc-delete circle{fill:#000}\
     .gc-round rect{fill:#1565c0}\
     </style>";

/// What happened to a drawn message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Delivered to a running node.
    Delivered,
    /// Delivered and still in flight (duplication as redelivery).
    Redelivered,
    /// Dropped by the network.
    Dropped,
    /// Delivered to a crashed node: lost.
    LostDown,
    /// Removed from the network without a delivery or drop (a state-space reduction).
    Pruned,
    /// Still in flight when the run ends.
    InFlight,
}

impl Fate {
    fn class(self) -> &'static str {
        match self {
            Fate::Delivered => "gc-delivered",
            Fate::Redelivered => "gc-redelivered",
            Fate::Dropped => "gc-dropped",
            Fate::LostDown => "gc-lost-down",
            Fate::Pruned => "gc-pruned",
            Fate::InFlight => "gc-in-flight",
        }
    }
    fn lost(self) -> bool {
        matches!(self, Fate::Dropped | Fate::LostDown | Fate::Pruned)
    }
    fn note(self, copy: bool) -> Option<&'static str> {
        match (self, copy) {
            (Fate::Redelivered, _) => Some("redelivered:"),
            (Fate::Dropped, _) => Some("lost:"),
            (Fate::LostDown, _) => Some("lost (receiver down):"),
            (Fate::Pruned, _) => Some("pruned:"),
            (Fate::InFlight, _) => Some("in flight:"),
            (Fate::Delivered, true) => Some("copy:"),
            (Fate::Delivered, false) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MarkKind {
    Write,
    Delete,
    Round,
    Crash,
    Restart,
    Leave,
    Convict,
    Forget,
    Collect,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            MarkKind::Write => "write",
            MarkKind::Delete => "delete",
            MarkKind::Round => "round",
            MarkKind::Crash => "crash",
            MarkKind::Restart => "restart",
            MarkKind::Leave => "leave",
            MarkKind::Convict => "convict",
            MarkKind::Forget => "forget",
            MarkKind::Collect => "collect",
        }
    }
}

struct Mark {
    lane: usize,
    row: usize,
    kind: MarkKind,
    label: String,
}

struct Arrow {
    from_lane: usize,
    to_lane: usize,
    sent: usize,
    /// The row where the arrow ends (fractional: messages in flight end below the last row).
    ended: f64,
    fate: Fate,
    copy: bool,
    label: String,
    full: String,
}

#[derive(Default)]
struct Events {
    marks: Vec<Mark>,
    arrows: Vec<Arrow>,
}

/// A message in flight: the envelope, the row it was sent in, whether it is a copy.
struct Pending {
    envelope: Envelope,
    sent: usize,
    copy: bool,
}

fn multiset(network: &[Envelope]) -> BTreeMap<&Envelope, usize> {
    let mut m = BTreeMap::new();
    for e in network {
        *m.entry(e).or_insert(0) += 1;
    }
    m
}

/// `a - b` as multisets, in `a`'s order.
fn minus<'a>(a: &'a [Envelope], b: &[Envelope]) -> Vec<&'a Envelope> {
    let mut left = multiset(b);
    a.iter()
        .filter(|e| match left.get_mut(e) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn collect(init: &GossipState, steps: &[(GossipAction, GossipState)]) -> Events {
    let mut ev = Events::default();
    let mut pending: Vec<Pending> = init
        .network
        .iter()
        .map(|e| Pending {
            envelope: e.clone(),
            sent: 0,
            copy: false,
        })
        .collect();
    let mut prev = init;
    for (i, (action, next)) in steps.iter().enumerate() {
        let row = i + 1;
        let mut removed = minus(&prev.network, &next.network);
        let added = minus(&next.network, &prev.network);
        let take = |pending: &mut Vec<Pending>, e: &Envelope| {
            pending
                .iter()
                .position(|p| &p.envelope == e)
                .map(|i| pending.remove(i))
        };
        let end = |ev: &mut Events, p: &Pending, fate: Fate| {
            ev.arrows.push(arrow(p, row, fate));
        };
        let mut copies = 0;
        match action {
            GossipAction::Deliver(e) | GossipAction::Drop(e) => {
                if let Some(i) = removed.iter().position(|r| *r == e) {
                    removed.remove(i);
                }
                if let Some(p) = take(&mut pending, e) {
                    let fate = match action {
                        GossipAction::Drop(_) => Fate::Dropped,
                        _ if !prev.nodes[e.to as usize].up => Fate::LostDown,
                        _ => Fate::Delivered,
                    };
                    end(&mut ev, &p, fate);
                }
            }
            GossipAction::Redeliver(e) => {
                if let Some(p) = pending.iter().find(|p| &p.envelope == e) {
                    end(&mut ev, p, Fate::Redelivered);
                }
            }
            GossipAction::Duplicate(_) => copies = 1,
            _ => {}
        }
        // Messages that left the network otherwise: removed by a reduction.
        for e in removed {
            if let Some(p) = take(&mut pending, e) {
                end(&mut ev, &p, Fate::Pruned);
            }
        }
        // Messages that appeared: sends by their `from`, or the network's copy.
        for e in added {
            if copies > 0 && matches!(action, GossipAction::Duplicate(d) if d == e) {
                copies -= 1;
                let sent = pending
                    .iter()
                    .find(|p| &p.envelope == e)
                    .map_or(row, |p| p.sent);
                pending.push(Pending {
                    envelope: e.clone(),
                    sent,
                    copy: true,
                });
            } else {
                pending.push(Pending {
                    envelope: e.clone(),
                    sent: row,
                    copy: false,
                });
            }
        }
        if let Some(m) = mark(prev, action, next, row) {
            ev.marks.push(m);
        }
        prev = next;
    }
    let last = steps.len();
    for p in &pending {
        ev.arrows.push(arrow(p, last + 1, Fate::InFlight));
    }
    ev
}

fn arrow(p: &Pending, row: usize, fate: Fate) -> Arrow {
    let e = &p.envelope;
    let full = format!(
        "n{} → n{} {}",
        e.from,
        e.to,
        gossip_model::format::msg(&e.msg)
    );
    let ended = if fate == Fate::InFlight {
        row as f64 - 0.2 // below the last step
    } else {
        row as f64
    };
    Arrow {
        from_lane: e.from as usize,
        to_lane: e.to as usize,
        sent: p.sent,
        ended,
        fate,
        copy: p.copy,
        label: shorten(&abbreviate(&e.msg), LABEL_CHARS),
        full,
    }
}

fn mark(prev: &GossipState, action: &GossipAction, next: &GossipState, row: usize) -> Option<Mark> {
    let own_version = |n: u8| next.nodes[n as usize].view.get(&n).map(|v| v.watermark);
    let generation = |n: u8| next.nodes[n as usize].view.get(&n).map(|v| v.generation);
    let v = |n: u8| own_version(n).map(|v| format!(" @{v}")).unwrap_or_default();
    let value = |x: u8| (b'a' + x) as char;
    let m = |lane: u8, kind, label: String| {
        Some(Mark {
            lane: lane as usize,
            row,
            kind,
            label,
        })
    };
    match action {
        GossipAction::Write {
            node,
            key,
            value: x,
        } => m(
            *node,
            MarkKind::Write,
            format!("write k{key}={}{}", value(*x), v(*node)),
        ),
        GossipAction::Delete { node, key } => m(
            *node,
            MarkKind::Delete,
            format!("delete k{key}{}", v(*node)),
        ),
        GossipAction::Gossip { from, to } => {
            let to: Vec<String> = to.iter().map(|t| format!("n{t}")).collect();
            m(*from, MarkKind::Round, format!("round → {}", to.join(",")))
        }
        GossipAction::Crash { node } => m(*node, MarkKind::Crash, "CRASH".into()),
        GossipAction::Restart { node } => m(
            *node,
            MarkKind::Restart,
            format!(
                "restart{}",
                generation(*node)
                    .map(|g| format!(" g{g}"))
                    .unwrap_or_default()
            ),
        ),
        GossipAction::Leave { node } => m(*node, MarkKind::Leave, format!("leave{}", v(*node))),
        GossipAction::Convict { observer, subject } => m(
            *observer,
            MarkKind::Convict,
            format!(
                "convicts n{subject}{}",
                if prev.nodes[*subject as usize].up {
                    " (running: false suspicion)"
                } else {
                    ""
                }
            ),
        ),
        GossipAction::Forget { observer, subject } => {
            m(*observer, MarkKind::Forget, format!("forgets n{subject}"))
        }
        GossipAction::Expire { observer, subject } => m(
            *observer,
            MarkKind::Forget,
            format!("record of n{subject} expires"),
        ),
        GossipAction::CollectTombstones { node, subject } => m(
            *node,
            MarkKind::Collect,
            format!("collects n{subject}'s tombstones"),
        ),
        GossipAction::Deliver(_)
        | GossipAction::Drop(_)
        | GossipAction::Duplicate(_)
        | GossipAction::Redeliver(_) => None,
    }
}

/// A message in a few characters: `Syn d[n0:1/1/0] Δ[n0:g1 k0=a@1]`.
pub fn abbreviate(m: &Msg) -> String {
    let digest = |d: &[DigestEntry]| {
        let parts: Vec<String> = d
            .iter()
            .map(|e| {
                format!(
                    "n{}:{}/{}/{}",
                    e.node, e.generation, e.heartbeat, e.watermark
                )
            })
            .collect();
        format!("d[{}]", parts.join(" "))
    };
    let delta = |d: &[NodeDelta]| {
        let parts: Vec<String> = d.iter().map(node_delta).collect();
        format!("Δ[{}]", parts.join(" "))
    };
    let mut out = m.kind().to_string();
    let (d, x): (&[DigestEntry], &[NodeDelta]) = match m {
        Msg::Syn { digest, delta, .. } | Msg::SynAck { digest, delta, .. } => (digest, delta),
        Msg::Ack { delta } => (&[], delta),
    };
    if !d.is_empty() {
        out.push(' ');
        out.push_str(&digest(d));
    }
    if !x.is_empty() || d.is_empty() {
        out.push(' ');
        out.push_str(&delta(x));
    }
    out
}

fn node_delta(d: &NodeDelta) -> String {
    let mut out = format!("n{}:g{}", d.node, d.generation);
    if let DeltaKind::Reset { .. } = d.kind {
        out.push_str(" reset");
    }
    if d.updates.is_empty() {
        let _ = write!(out, " h{}", d.heartbeat);
    }
    for u in &d.updates {
        let change = match u.change {
            Change::Set { key, value } => format!("k{key}={}", (b'a' + value) as char),
            Change::Delete { key } => format!("del k{key}"),
            Change::Leave => "leave".to_string(),
        };
        let _ = write!(out, " {change}@{}", u.version);
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The chart `gossip-check --trace-svg` draws from a report: of the first violated property's
/// counterexample, else of the first property with a trace (an example of a `sometimes`
/// property), the same choice as `--trace-out`. `None` when the report has no trace.
pub fn draw_report(
    report: &crate::report::RunReport,
    cfg: &gossip_model::GossipConfig,
) -> Option<Result<ReportChart, ChartError>> {
    use crate::report::Status;
    let p = report
        .properties
        .iter()
        .find(|p| p.status == Status::Violated && p.trace.is_some())
        .or_else(|| report.properties.iter().find(|p| p.trace.is_some()))?;
    let kind = if p.status == Status::Violated {
        "counterexample"
    } else {
        "example"
    };
    let steps = p.trace.as_deref().unwrap_or_default();
    let actions = match steps
        .iter()
        .filter_map(|s| s.action.clone())
        .map(serde_json::from_value::<GossipAction>)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(a) => a,
        Err(e) => return Some(Err(ChartError::Action(e.to_string()))),
    };
    let options = ChartOptions {
        title: format!(
            "{kind} for \"{}\" ({} checker{})",
            p.name,
            report.checker,
            if p.loop_index.is_some() {
                ", a lasso"
            } else {
                ""
            }
        ),
        cycle_start: p.loop_index,
    };
    let model = cfg.clone().into_model();
    Some(
        draw_actions(&model, &actions, &options)
            .map(|svg| ReportChart {
                property: p.name.clone(),
                kind,
                steps: actions.len(),
                svg,
            })
            .map_err(ChartError::NotEnabled),
    )
}

/// A chart of a report's trace ([`draw_report`]).
#[derive(Clone, Debug)]
pub struct ReportChart {
    /// The property whose trace is drawn.
    pub property: String,
    /// "counterexample" or "example".
    pub kind: &'static str,
    /// The number of steps drawn.
    pub steps: usize,
    /// The SVG document.
    pub svg: String,
}

/// Why a report's trace could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// An action of the trace is not a gossip action.
    #[error("an action of the trace is not a gossip action: {0}")]
    Action(String),
    /// The trace does not replay in the model.
    #[error(transparent)]
    NotEnabled(#[from] NotEnabled),
}
