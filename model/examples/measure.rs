//! Measures one configuration: `cargo run --release -p gossip-model --example measure -- \
//! [bfs|dfs|dfs-sym] '<GossipConfig as JSON, partial>'`. Prints unique states, time and every
//! discovery, then compares with `GossipModel::expected`.

use std::time::Instant;

use gossip_model::{Expected, GossipConfig, GossipModel};
use stateright::{Checker, Model};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let how = args.get(1).map(String::as_str).unwrap_or("bfs");
    let cfg: GossipConfig = match args.get(2) {
        Some(v) if v.starts_with("variant:") => {
            gossip_model::Variant::from_name(&v["variant:".len()..])
                .expect("a variant name")
                .witness_config()
        }
        Some(json) => serde_json::from_str(json).expect("a GossipConfig as JSON"),
        None => GossipConfig::default(),
    };
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    cfg.validate().expect("valid configuration");
    println!("{}", serde_json::to_string(&cfg).unwrap());
    let model = cfg.into_model();
    let props = model.properties();
    let start = Instant::now();
    let mut builder = model.clone().checker().threads(threads);
    if let Some(max) = std::env::var("MAX_STATES")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        builder = builder.target_state_count(max);
    }
    match how {
        "bfs" => report(&model, &props, builder.spawn_bfs().join(), how, start),
        "dfs" => report(&model, &props, builder.spawn_dfs().join(), how, start),
        "dfs-sym" => report(
            &model,
            &props,
            builder
                .symmetry_fn(GossipModel::representative)
                .spawn_dfs()
                .join(),
            how,
            start,
        ),
        other => panic!("unknown strategy {other}"),
    }
}

fn report(
    model: &GossipModel,
    props: &[stateright::Property<GossipModel>],
    checker: impl Checker<GossipModel>,
    how: &str,
    start: Instant,
) {
    let secs = start.elapsed().as_secs_f64();
    let unique = checker.unique_state_count();
    println!(
        "{how}: unique={unique} total={} depth={} sec={secs:.1} states/s={:.0} complete={}",
        checker.state_count(),
        checker.max_depth(),
        unique as f64 / secs,
        checker.is_done()
            && std::env::var("MAX_STATES")
                .ok()
                .and_then(|t| t.parse::<usize>().ok())
                .is_none_or(|m| checker.state_count() < m)
    );
    let discoveries = checker.discoveries();
    let mut surprises = 0;
    for p in props {
        let found = discoveries.get(p.name);
        let got = match (p.expectation.discovery_is_failure(), found.is_some()) {
            (true, true) => Expected::Violated,
            (true, false) => Expected::Holds,
            (false, true) => Expected::Found,
            (false, false) => Expected::NotFound,
        };
        let want = model.expected(p.name);
        let mark = if got == want {
            " "
        } else {
            surprises += 1;
            "!"
        };
        let len = found
            .map(|p| format!(" ({} steps)", p.clone().into_actions().len()))
            .unwrap_or_default();
        println!("{mark} {got:?} (expected {want:?}): {}{len}", p.name);
        if p.expectation.discovery_is_failure()
            && let Some(path) = found
        {
            {
                for a in path.clone().into_actions() {
                    println!("      {}", model.format_action(&a));
                }
                println!(
                    "{}",
                    model
                        .describe_state(path.last_state())
                        .lines()
                        .map(|l| format!("      | {l}\n"))
                        .collect::<String>()
                );
            }
        }
    }
    println!("surprises: {surprises}");
}
