//! Verifiers built from arbitrary options, verifying arbitrary tokens: every outcome must be a
//! typed value (a verifier or `config_invalid`; a result for each token), never a panic. The
//! option interpreter is shared with the proptest property in core/tests/properties.rs.
#![no_main]

use std::sync::OnceLock;

use jwtgate::Algorithm;
use jwtgate::sign::SigningKey;
use libfuzzer_sys::fuzz_target;

#[path = "../../core/tests/common/config_ops.rs"]
mod config_ops;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(Algorithm::ES256, "fuzz").expect("keygen"))
}

fuzz_target!(|input: (Vec<config_ops::Op>, Vec<String>)| {
    let (ops, tokens) = input;
    if ops.len() > 16 || tokens.len() > 4 {
        return;
    }
    config_ops::check(&ops, &tokens, key());
});
