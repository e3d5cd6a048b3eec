//! The Tencent dialect's TC3 verifier and JSON/GET parameter decoding, on arbitrary input.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_api::fuzzing::tencent(data));
