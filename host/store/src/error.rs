//! The two error families of the store.
//!
//! [`OpError`] is a business outcome of one [`Op`](crate::Op): the caller asked
//! for something the current state does not allow (start over a running
//! instance, a turn computed from stale history, an event for a finished
//! instance, a purge of a running one). It rejects that op alone; the other ops of the batch commit.
//!
//! [`StoreError`] is a storage failure (I/O, corruption, an unknown format
//! version, a stopped writer). It fails the whole batch: nothing of it was
//! committed. It is `Clone` (sources are shared through `Arc`) because the
//! group-commit writer hands the same failure to every caller of a batch.

use std::path::PathBuf;

use weft_core::{ExecutionId, InstanceId, RuntimeStatus};

/// Why one op was rejected. Nothing of a rejected op is written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// An instance with this ID exists and has not finished; it cannot be started again.
    #[error(
        "an instance with this ID already exists and is {0}; wait for it to finish or terminate it first"
    )]
    Conflict(RuntimeStatus),
    /// No instance with this ID exists.
    #[error("no instance with this ID exists")]
    NotFound,
    /// The instance has finished; it accepts no more messages.
    #[error("the instance is {0} and accepts no more events")]
    Gone(RuntimeStatus),
    /// The instance's current status does not allow the operation (a control
    /// request the status does not accept, or a purge of an instance that is
    /// not Completed, Failed or Terminated). Nothing was written.
    #[error("the instance is {0}, which does not allow this operation")]
    WrongStatus(RuntimeStatus),
    /// The turn was computed from a state that is no longer current (another turn
    /// committed first, or the instance was restarted). Reload and run it again.
    #[error(
        "turn for instance '{instance}' is stale: it was computed from execution {expected_execution} \
         with {expected_history_len} history events, the store has execution {found_execution} with \
         {found_history_len}; reload the instance and run the turn again"
    )]
    Stale {
        /// The instance the turn was for.
        instance: InstanceId,
        /// The execution the turn was computed from.
        expected_execution: ExecutionId,
        /// The history length the turn was computed from.
        expected_history_len: u32,
        /// The execution the store holds now.
        found_execution: ExecutionId,
        /// The history length the store holds now.
        found_history_len: u32,
    },
    /// A turn consumed an inbox message that is no longer in the inbox:
    /// another turn (on this host or another) took it first. Nothing was
    /// written; reload the inbox and run the turn again.
    #[error(
        "inbox message {seq} of '{instance}' was already consumed by another turn; reload the inbox and run the turn again"
    )]
    Consumed {
        /// The instance.
        instance: InstanceId,
        /// The inbox sequence number that was missing.
        seq: u64,
    },
    /// The turn ran on component `ran_on`, but the instance was moved to
    /// `pinned` meanwhile (a deploy with `migrate`, possibly through another
    /// host). Nothing was written; the turn runs again on the new component.
    #[error(
        "turn for instance '{instance}' ran on component {ran_on}, but the instance was moved to {pinned} meanwhile; reload the instance and run the turn on the component it is pinned to"
    )]
    Repinned {
        /// The instance.
        instance: InstanceId,
        /// The component the turn ran on.
        ran_on: String,
        /// The component the store pins the instance to now.
        pinned: String,
    },
    /// A fenced op's partition is no longer leased to the host at the epoch
    /// it held (another host took it over). Nothing was written; the new
    /// owner runs the instance from here.
    #[error(
        "partition {partition} is no longer held by host '{owner}' at epoch {epoch}; another host serves it now"
    )]
    Fenced {
        /// The partition.
        partition: u32,
        /// The host that ran the turn.
        owner: String,
        /// The epoch it held.
        epoch: u64,
    },
    /// The op contradicts itself (a caller bug, e.g. a record whose `history_len`
    /// does not account for the new events). Nothing was written.
    #[error("invalid op: {0}")]
    Invalid(String),
}

/// How a [`StoreError`] should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// May succeed later without intervention (the file is locked by another
    /// process that may exit). Retry with backoff.
    Retryable,
    /// Needs an operator: disk failure, corruption, a format this build cannot
    /// read, a stopped writer. Restart the host or restore from backup.
    Permanent,
    /// The caller passed something the store cannot use (a malformed
    /// continuation token). Report it to the user as bad input.
    Caller,
}

/// A storage failure. When returned by a commit, nothing of the batch was written.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another `Store` in this process) has the file open.
    #[error(
        "the store file {path} is already open in another process or handle; stop the other Weft \
         host or point this one at a different store file"
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file could not be opened or created.
    #[error(
        "cannot open the store file {path}: {detail}; check that the path is writable and the file \
         is a Weft store"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What the backend reported.
        detail: String,
        /// The fault it is, when a retry after the cause is fixed may heal it.
        fault: Option<Fault>,
    },
    /// A read or write failed in redb (usually I/O).
    #[error(
        "storage failure while {during}: {detail}; check the disk, then restart the host (the store \
         repairs itself on open)"
    )]
    Storage {
        /// What the store was doing.
        during: &'static str,
        /// What the backend reported.
        detail: String,
        /// The fault it is, when a reopen (once space is free or the device
        /// works again) may heal it; classified when the error is made, so no
        /// backend type travels with it.
        fault: Option<Fault>,
    },
    /// A stored value carries a format version this build does not know.
    #[error(
        "{what} is stored in format version {found}, but this build of Weft reads versions up to \
         {supported}; upgrade Weft to read this store"
    )]
    UnsupportedFormat {
        /// What was being read (table and key).
        what: String,
        /// The version found.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
    /// A stored value or index entry is not what the format says.
    #[error("corrupt store: {what}: {detail}; restore the store file from a backup")]
    Corrupt {
        /// What was being read (table and key).
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// A continuation token that this store did not issue.
    #[error(
        "invalid continuation token {0:?}; start the listing again without a continuation token"
    )]
    BadContinuation(String),
    /// The writer thread is gone (it panicked, or every handle was dropped).
    #[error("the store writer thread has stopped; restart the host")]
    WriterStopped,
    /// The task hub was deleted after this handle was made; nothing was written.
    #[error("task hub '{0}' was deleted; nothing more is written through this handle")]
    HubDeleted(String),
    /// Storage is failing (see [`Fault`]); nothing was written. The host
    /// reopens the file and retries by itself; try again shortly.
    #[error("storage is unavailable: {0}; the host retries by itself, try again shortly")]
    Unavailable(Fault),
}

/// Why storage is failing: what a `503` and the log say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The file system holding the store has no space left.
    DiskFull,
    /// Another I/O error on the store file (the text says which).
    Io(String),
    /// The database server cannot be reached or cannot write (the text
    /// says which): a lost connection, a server shutting down, a full disk
    /// on the server.
    Database(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::DiskFull => f.write_str("the disk holding the store is full; free some space"),
            Fault::Io(e) => write!(f, "an I/O error on the store file ({e})"),
            Fault::Database(e) => write!(f, "the database cannot be reached or cannot write ({e})"),
        }
    }
}

/// The fault a redb error is, if it is one a reopen may heal.
fn fault_of(e: &redb::Error) -> Option<Fault> {
    match e {
        redb::Error::Io(io) => Some(io_fault(io)),
        redb::Error::PreviousIo => Some(Fault::Io(
            "an earlier write failed and the file must be reopened".into(),
        )),
        redb::Error::DatabaseClosed => Some(Fault::Io("the file is closed".into())),
        _ => None,
    }
}

fn io_fault(io: &std::io::Error) -> Fault {
    // ENOSPC and EDQUOT: no space for this writer.
    if io.kind() == std::io::ErrorKind::StorageFull
        || io.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(io.raw_os_error(), Some(28) | Some(122))
    {
        Fault::DiskFull
    } else {
        Fault::Io(io.to_string())
    }
}

impl StoreError {
    /// How this failure should be handled.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InUse { .. } | StoreError::Unavailable(_) => ErrorKind::Retryable,
            StoreError::BadContinuation(_) => ErrorKind::Caller,
            StoreError::Open { .. }
            | StoreError::Storage { .. }
            | StoreError::UnsupportedFormat { .. }
            | StoreError::Corrupt { .. }
            | StoreError::WriterStopped
            | StoreError::HubDeleted(_) => ErrorKind::Permanent,
        }
    }

    /// The storage fault behind this error, when a reopen of the file (once
    /// space is free or the device works again) may heal it.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Unavailable(f) => Some(f.clone()),
            StoreError::Storage { fault, .. } | StoreError::Open { fault, .. } => fault.clone(),
            _ => None,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Attaches "what the store was doing" to a redb error.
pub(crate) trait During<T> {
    fn during(self, during: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> During<T> for Result<T, E> {
    fn during(self, during: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| {
            let e: redb::Error = e.into();
            StoreError::Storage {
                during,
                fault: fault_of(&e),
                detail: e.to_string(),
            }
        })
    }
}

/// A redb error met while opening `path`, classified.
pub(crate) fn open_error(path: &std::path::Path, e: redb::Error) -> StoreError {
    StoreError::Open {
        path: path.to_owned(),
        fault: fault_of(&e),
        detail: e.to_string(),
    }
}
