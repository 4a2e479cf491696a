//! The full receive path (`Core::handle_datagram`) of a core with state, on arbitrary bytes:
//! never panics; a rejection is typed and changes nothing; what the core sends fits the MTU.
#![no_main]

mod common;

use std::time::Duration;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut a = common::core_with_state();
    let before = a.view();
    let t = Duration::from_secs(2);
    match a.handle_datagram(common::addr(2), data, t) {
        Err(_) => {
            assert_eq!(a.view(), before);
            assert!(a.poll_transmit().is_none());
            assert!(a.poll_event().is_none());
        }
        Ok(()) => {
            while let Some(tx) = a.poll_transmit() {
                assert!(tx.payload.len() <= a.config().mtu);
            }
        }
    }
});
