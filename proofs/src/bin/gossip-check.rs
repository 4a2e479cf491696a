//! gossip-check (placeholder; being written).
fn main() {}
