//! The parameter decoder and every getter, on arbitrary query strings.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hearth_api::fuzzing::params(data));
