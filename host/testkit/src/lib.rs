//! Support for Weft's own tests (never a dependency of the binary).
//!
//! - [`postgres`]: a private PostgreSQL cluster for the tests that need a
//!   real server, installed from the machine's package manager when missing,
//!   started on a free loopback port in a temporary directory, and stopped
//!   when the test process ends.

pub mod postgres;
