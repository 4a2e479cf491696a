//! Node states held in the view.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fd::PhiDetector;
use crate::id::NodeId;
use crate::security::{Attestation, Signature};
use crate::view::{EntryView, NodeView, Status};
use crate::wire::{Change, Update};

/// One held change of a key.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) version: u64,
    /// `None` is a tombstone.
    pub(crate) value: Option<Vec<u8>>,
    /// When this node started holding it (tombstone grace period).
    pub(crate) since: Duration,
    /// The owner's signature of this change (signature layer only).
    pub(crate) sig: Option<Signature>,
}

/// The greatest owner attestation held for a node (signature layer only).
#[derive(Clone, Debug)]
pub(crate) struct HeldAttestation {
    pub(crate) heartbeat: u64,
    pub(crate) attestation: Attestation,
}

/// What a node knows about one node (protocol.md §2).
#[derive(Clone, Debug)]
pub(crate) struct NodeState {
    pub(crate) generation: u64,
    pub(crate) heartbeat: u64,
    pub(crate) entries: BTreeMap<String, Entry>,
    /// version → key, for every entry (tombstones included).
    pub(crate) by_version: BTreeMap<u64, String>,
    pub(crate) left: Option<u64>,
    /// The owner's signature of the leave marker.
    pub(crate) left_sig: Option<Signature>,
    /// The greatest attestation seen, by `(heartbeat, watermark)`.
    pub(crate) attestation: Option<HeldAttestation>,
    pub(crate) watermark: u64,
    pub(crate) gc_floor: u64,
    pub(crate) status: Status,
    pub(crate) status_since: Duration,
    pub(crate) fd: PhiDetector,
}

impl NodeState {
    pub(crate) fn new(generation: u64, now: Duration) -> Self {
        Self {
            generation,
            heartbeat: 0,
            entries: BTreeMap::new(),
            by_version: BTreeMap::new(),
            left: None,
            left_sig: None,
            attestation: None,
            watermark: 0,
            gc_floor: 0,
            status: Status::Alive,
            status_since: now,
            fd: PhiDetector::new(now),
        }
    }

    /// Sets `key`'s entry, replacing any older one.
    pub(crate) fn put(
        &mut self,
        key: String,
        version: u64,
        value: Option<Vec<u8>>,
        sig: Option<Signature>,
        now: Duration,
    ) {
        if let Some(old) = self.entries.get(&key) {
            self.by_version.remove(&old.version);
        }
        self.by_version.insert(version, key.clone());
        self.entries.insert(
            key,
            Entry {
                version,
                value,
                since: now,
                sig,
            },
        );
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.by_version.clear();
        self.left = None;
        self.left_sig = None;
    }

    /// Removes a tombstone, raising the gc_floor.
    pub(crate) fn collect(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.by_version.remove(&e.version);
            self.gc_floor = self.gc_floor.max(e.version);
        }
    }

    /// The held changes with version > `from`, in increasing version order (the leave marker
    /// included).
    pub(crate) fn changes_after(&self, from: u64) -> impl Iterator<Item = Update> + '_ {
        let mut left = self.left.filter(|&v| v > from);
        let mut keys = self.by_version.range(from.saturating_add(1)..).peekable();
        std::iter::from_fn(move || {
            let next_key = keys.peek().map(|(v, _)| **v);
            match (next_key, left) {
                (Some(kv), Some(lv)) if lv < kv => {
                    left = None;
                    Some(Update {
                        version: lv,
                        change: Change::Leave,
                        sig: self.left_sig,
                    })
                }
                (Some(_), _) => {
                    let (v, key) = keys.next()?;
                    let e = &self.entries[key];
                    Some(Update {
                        version: *v,
                        change: match &e.value {
                            Some(val) => Change::Set {
                                key: key.clone(),
                                value: val.clone(),
                            },
                            None => Change::Delete { key: key.clone() },
                        },
                        sig: e.sig,
                    })
                }
                (None, Some(lv)) => {
                    left = None;
                    Some(Update {
                        version: lv,
                        change: Change::Leave,
                        sig: self.left_sig,
                    })
                }
                (None, None) => None,
            }
        })
    }

    pub(crate) fn to_view(&self, id: &NodeId) -> NodeView {
        NodeView {
            id: id.clone(),
            generation: self.generation,
            heartbeat: self.heartbeat,
            entries: self
                .entries
                .iter()
                .map(|(k, e)| {
                    (
                        k.clone(),
                        EntryView {
                            version: e.version,
                            value: e.value.clone(),
                        },
                    )
                })
                .collect(),
            left: self.left,
            watermark: self.watermark,
            gc_floor: self.gc_floor,
            status: self.status,
        }
    }
}

/// A **forgotten record**.
#[derive(Clone, Debug)]
pub(crate) struct Forgotten {
    pub(crate) generation: u64,
    pub(crate) heartbeat: u64,
    /// Whether the node's leave marker was held: then only a higher generation brings it back.
    pub(crate) left: bool,
    pub(crate) since: Duration,
}
