//! The gossip protocol's formal model (placeholder; being written).
