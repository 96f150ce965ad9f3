//! The generated test cases: one per operation (`cases`), and one per schema example and
//! webhook example (`examples`).

pub(super) mod cases;
pub(super) mod examples;
