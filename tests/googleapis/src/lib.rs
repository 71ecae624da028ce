//! Nothing here: the work is in `tests/googleapis.rs`.
