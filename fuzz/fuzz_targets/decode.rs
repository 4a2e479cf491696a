//! The datagram decoder on arbitrary bytes: never panics; whatever decodes re-encodes to a
//! datagram that decodes to the same envelope.
#![no_main]

use gossip_core::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = wire::decode(data, 65_535) {
        let again = wire::encode(&env);
        assert_eq!(again.len(), env.encoded_len());
        assert_eq!(wire::decode(&again, 65_535).expect("re-encoding decodes"), env);
    }
});
