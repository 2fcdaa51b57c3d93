//! A target that fails on purpose, on its committed seed: CI runs `fuzz/smoke` on it and expects a
//! non-zero exit, which proves that the smoke step can fail when a real target crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(!data.starts_with(b"CRASH"), "deliberate crash: the fuzz smoke self-test input");
});
