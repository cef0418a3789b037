//! The deploy history's wire types, kept at their old path: they live in
//! [`crate::model::history`], at the bottom of the crate with the other wire types.

pub use crate::model::encode_component;
pub use crate::model::history::*;
