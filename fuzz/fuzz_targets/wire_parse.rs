//! Every wire view, accessor, `Repr::parse`, the tag helpers and `describe` over arbitrary
//! bytes: none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wire::exercise::exercise(data);
});
