//! How an operator configures a host: `serve`'s settings from flags,
//! environment variables and weft.toml, and the units they are written in.

pub mod file;
pub mod names;
pub mod settings;
pub mod units;
pub mod values;

pub use settings::{LogFormat, ServeConfig, Settings};
