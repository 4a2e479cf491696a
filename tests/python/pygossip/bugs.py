"""Deliberately broken variants, selected with the environment variable PYGOSSIP_BUG
(or Config.bug). Used to show that the vectors, the unit tests and the conformance kit catch
them. Unset (the default): the correct protocol."""
import os

#: name -> what is broken
BUGS = {
    "apply-past-gap": "protocol.md §5.4/§5.6: an incremental delta whose `from` is above the "
                      "receiver's watermark (or an unknown node's delta with from > 0) is "
                      "applied anyway (accept an update past a gap)",
    "accept-older-generation": "protocol.md §5.3: a node delta of an older generation "
                               "replaces the newer node state",
    "gc-without-reset": "protocol.md §4.2/§8: a peer behind the gc_floor gets an incremental "
                        "delta instead of a reset",
    "revive-on-stale-gossip": "protocol.md §5.7: any node delta about a dead node (not only "
                              "a fresh heartbeat) makes it alive again",
    "wide-integers": "wire.md: integers below 128 encoded as uint8 (cc xx) instead of the "
                     "smallest encoding (positive fixint)",
    "no-heartbeat-bump": "protocol.md §6.1: a gossip round does not increment the heartbeat",
}


def active_bug() -> str:
    b = os.environ.get("PYGOSSIP_BUG", "")
    if b and b not in BUGS:
        raise SystemExit(f"unknown PYGOSSIP_BUG {b!r}; known: {', '.join(BUGS)}")
    return b
