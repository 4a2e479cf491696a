"""pygossip: an independent Python implementation of the gossip protocol, written from
docs/spec only (cleanroom second implementation)."""
