//! Where inventories come from: one module per cloud. Each turns its provider's APIs or
//! exports into the provider-agnostic `model`.

pub mod aws;
