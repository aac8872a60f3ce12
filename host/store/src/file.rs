//! The open redb file, reopened after a storage fault.
//!
//! After an I/O error (a full disk, say) redb refuses every later operation
//! with "a previous I/O error occurred; close and re-open the database"
//! (`PreviousIo`). Every [`Store`](crate::Store) handle of a file shares one
//! [`DbFile`], so one [`DbFile::reopen`] heals them all: the poisoned
//! `Database` is dropped, and the file is opened again. While it is closed
//! (or cannot be opened yet) operations fail with
//! [`StoreError::Unavailable`], which says why and when to retry.
//!
//! The group-commit writer decides when to reopen
//! ([`crate::writer`]'s fault loop); readers only report faults.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redb::{Database, DatabaseError};

use crate::error::{Fault, StoreError};

/// One open database file, shared by every hub handle on it.
pub(crate) struct DbFile {
    path: PathBuf,
    /// `Err` while the file is closed after a fault: why.
    db: RwLock<Result<Arc<Database>, Fault>>,
    /// Why writes fail, until a write or probe succeeds again.
    writable: Mutex<Option<Fault>>,
}

impl DbFile {
    /// Opens (or creates) the file.
    pub(crate) fn open(path: &Path) -> Result<DbFile, StoreError> {
        let db = create(path)?;
        Ok(DbFile {
            path: path.to_owned(),
            db: RwLock::new(Ok(Arc::new(db))),
            writable: Mutex::new(None),
        })
    }

    /// The database, or why it is not open.
    pub(crate) fn get(&self) -> Result<Arc<Database>, StoreError> {
        match &*self.db.read().expect("db lock") {
            Ok(db) => Ok(db.clone()),
            Err(fault) => Err(StoreError::Unavailable(fault.clone())),
        }
    }

    /// Why writes are failing (`None`: the last one succeeded).
    pub(crate) fn writable(&self) -> Option<Fault> {
        self.writable.lock().expect("writable lock").clone()
    }

    pub(crate) fn set_writable(&self, fault: Option<Fault>) {
        *self.writable.lock().expect("writable lock") = fault;
    }

    /// Drops the database (poisoned by `fault`) and opens the file again. On
    /// failure the file stays closed and every operation answers
    /// `Unavailable` until the next attempt.
    pub(crate) fn reopen(&self, fault: &Fault) -> Result<(), StoreError> {
        let mut slot = self.db.write().expect("db lock");
        let old = std::mem::replace(&mut *slot, Err(fault.clone()));
        if let Ok(db) = old {
            // Operations in flight hold their own reference; the file closes
            // when the last one finishes. Wait briefly for them.
            let mut db = db;
            for _ in 0..50 {
                match Arc::try_unwrap(db) {
                    Ok(d) => {
                        drop(d);
                        break;
                    }
                    Err(shared) => {
                        db = shared;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
        let db = create(&self.path)?;
        *slot = Ok(Arc::new(db));
        Ok(())
    }
}

fn create(path: &Path) -> Result<Database, StoreError> {
    Database::create(path).map_err(|e| match e {
        DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.to_owned(),
        },
        e => crate::error::open_error(path, e.into()),
    })
}
