//! Code generated from the edge-case fixtures in `protos/edge`, compiled as a user's crate
//! would compile it.

#![allow(missing_docs)] // proto fields without comments have no docs to give

include!(concat!(env!("OUT_DIR"), "/mod.rs"));
