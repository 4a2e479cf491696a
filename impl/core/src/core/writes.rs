//! Local writes to the node's own state (protocol.md §1, §7): set, delete, leave.

use std::time::Duration;

use rand::RngCore;
use tracing::debug;

use super::Core;
use crate::error::WriteError;
use crate::view::Status;
use crate::wire::Change;

impl<R: RngCore> Core<R> {
    fn check_key(&self, key: &str) -> Result<(), WriteError> {
        if self.own().left.is_some() {
            return Err(WriteError::Left);
        }
        if key.is_empty() {
            return Err(WriteError::EmptyKey);
        }
        let max = self.config.limits.max_key_len;
        if key.len() > max {
            return Err(WriteError::KeyTooLong {
                len: key.len(),
                max,
            });
        }
        if !self.own().entries.contains_key(key)
            && self.own().entries.len() >= self.config.limits.max_keys_per_node
        {
            return Err(WriteError::TooManyKeys);
        }
        Ok(())
    }

    /// Sets `key = value` in the node's own state (protocol.md §1). Returns the change's version.
    pub fn set(&mut self, key: &str, value: &[u8], now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        self.check_key(key)?;
        let max = self.config.limits.max_value_len;
        if value.len() > max {
            return Err(WriteError::ValueTooLong {
                len: value.len(),
                max,
            });
        }
        let version = self.own().watermark + 1;
        let sig = self.sign_own(
            version,
            &Change::Set {
                key: key.to_owned(),
                value: value.to_vec(),
            },
        );
        let own = self.own_mut();
        own.put(key.to_owned(), version, Some(value.to_vec()), sig, now);
        own.watermark = version;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(key, version, "set");
        Ok(version)
    }

    /// Deletes `key` from the node's own state: it is replaced by a **tombstone** (even if the
    /// key was absent). Returns the tombstone's version.
    pub fn delete(&mut self, key: &str, now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        self.check_key(key)?;
        let version = self.own().watermark + 1;
        let sig = self.sign_own(
            version,
            &Change::Delete {
                key: key.to_owned(),
            },
        );
        let own = self.own_mut();
        own.put(key.to_owned(), version, None, sig, now);
        own.watermark = version;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(key, version, "delete");
        Ok(version)
    }

    /// Records the node's **leave** marker (protocol.md §7): the heartbeat stops, later writes
    /// fail with [`WriteError::Left`], and the node keeps gossiping until
    /// [`Core::left_acknowledged`]. Returns the marker's version.
    pub fn leave(&mut self, now: Duration) -> Result<u64, WriteError> {
        let now = self.tick(now);
        if self.own().left.is_some() {
            return Err(WriteError::Left);
        }
        let version = self.own().watermark + 1;
        let sig = self.sign_own(version, &Change::Leave);
        let own = self.own_mut();
        own.left = Some(version);
        own.left_sig = sig;
        own.watermark = version;
        own.status = Status::Left;
        own.status_since = now;
        self.refresh_own_attestation();
        self.view_epoch += 1;
        debug!(version, "leave");
        Ok(version)
    }

    /// Whether a peer's digest has shown that it holds this node's leave marker.
    pub fn left_acknowledged(&self) -> bool {
        self.left_acknowledged
    }
}
