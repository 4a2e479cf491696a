//! The gossip node (being written).
