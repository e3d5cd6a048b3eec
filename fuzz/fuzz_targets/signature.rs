//! Both signature verifiers, on arbitrary query, headers and body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_api::fuzzing::signature(data));
