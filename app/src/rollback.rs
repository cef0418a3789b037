//! Rollback's wire types, kept at their old path: they live in [`crate::model::rollback`], at
//! the bottom of the crate with the other wire types. The flow itself (preflight, locks,
//! provider calls, verification, audit) is the server's (`server::rollback`).

pub use crate::model::rollback::*;
