//! The hand-written claims and header scanners against their oracles (the serde_json parsers
//! they replaced), on arbitrary bytes: the same accept/reject verdict, the same parsed values, the
//! same error codes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(why) = jwtgate::fuzz_api::scanners_agree(data) {
        panic!("scanner and oracle disagree on {:?}: {why}", String::from_utf8_lossy(data));
    }
});
