//! How an operator configures a host: the units settings are written in.

pub mod units;
