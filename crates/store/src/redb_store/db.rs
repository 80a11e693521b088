//! The open redb file, and getting it back after a storage error.
//!
//! After one I/O error (a full disk, say) redb refuses every later operation with "Previous I/O
//! error occurred. Please close and re-open the database". So when an operation fails with
//! [`StoreError::Io`], the database is marked broken, and the next operation first closes and
//! reopens the file (redb repairs it if needed). Reopens are attempted at most once per
//! [`REOPEN_BACKOFF`], so a disk that stays full costs one attempt per interval, not one per
//! request. A failure is logged once, when the store goes from healthy to failing, and its
//! return is logged once too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use redb::Database;

use crate::StoreError;
use crate::health::HealthTracker;

/// The least time between two attempts to reopen a broken database.
pub(crate) const REOPEN_BACKOFF: Duration = Duration::from_millis(500);

/// Whether an operation only read, or also wrote. A failed write is cleared only by a write
/// that succeeds: reads keep working on a full disk and prove nothing about writes.
/// Ordered: a write failure outranks a read failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Access {
    Read,
    Write,
}

#[derive(Debug)]
pub(crate) struct Db {
    path: PathBuf,
    /// `None` after a failed reopen; every operation holds the read lock while it runs, so a
    /// reopen (the write lock) never closes the file under one.
    slot: RwLock<Option<Database>>,
    broken: AtomicBool,
    /// The last failed reopen: when, and why.
    last_reopen_failure: Mutex<Option<(Instant, String)>>,
    /// What failed last: a read failure is cleared by any success, a write failure by a write.
    failed_access: Mutex<Option<Access>>,
    pub(crate) health: HealthTracker,
}

/// The database, held open for one operation.
pub(crate) type DbGuard<'a> = RwLockReadGuard<'a, Option<Database>>;

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let db = open_file(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            slot: RwLock::new(Some(db)),
            broken: AtomicBool::new(false),
            last_reopen_failure: Mutex::new(None),
            failed_access: Mutex::new(None),
            health: HealthTracker::new("redb", path.display().to_string()),
        })
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// The database for one operation. The caller has reopened it first if it was broken.
    pub(crate) fn get(&self) -> Result<DbGuard<'_>, StoreError> {
        let guard = self.slot.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(self.reopen_error());
        }
        Ok(guard)
    }

    /// Closes and reopens the file if it is broken; `after` runs on the freshly opened database
    /// before any other operation can use it (to reload what the store caches from it).
    pub(crate) fn reopen_if_broken(
        &self,
        after: impl FnOnce(&Database) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if !self.is_broken() {
            return Ok(());
        }
        let mut slot = self.slot.write().unwrap_or_else(PoisonError::into_inner);
        if !self.is_broken() {
            return Ok(()); // another operation reopened it while this one waited
        }
        {
            let last = self.last_reopen_failure.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, _)) = &*last
                && at.elapsed() < REOPEN_BACKOFF
            {
                drop(last);
                return Err(self.reopen_error());
            }
        }
        // Close first: redb refuses a second handle on the same file.
        drop(slot.take());
        let reopened = open_file(&self.path).and_then(|db| after(&db).map(|()| db));
        match reopened {
            Ok(db) => {
                *slot = Some(db);
                self.broken.store(false, Ordering::Release);
                *self.last_reopen_failure.lock().unwrap_or_else(PoisonError::into_inner) = None;
                tracing::info!(path = %self.path.display(), "store file reopened after an I/O error");
                Ok(())
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::debug!(path = %self.path.display(), %reason, "reopening the store file failed");
                self.health.failed(&format!("reopening the store file failed: {reason}"));
                *self.last_reopen_failure.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), reason));
                Err(self.reopen_error())
            }
        }
    }

    fn reopen_error(&self) -> StoreError {
        let last = self.last_reopen_failure.lock().unwrap_or_else(PoisonError::into_inner);
        let reason = last.as_ref().map_or("it is closed", |(_, reason)| reason.as_str());
        StoreError::Io(format!(
            "the store file {} is being reopened after an I/O error: {reason}",
            self.path.display()
        ))
    }

    /// Records what an operation's result says about the storage.
    pub(crate) fn observe<T>(&self, access: Access, result: &Result<T, StoreError>) {
        match result {
            Err(StoreError::Io(reason)) => {
                self.broken.store(true, Ordering::Release);
                let mut failed = self.failed_access.lock().unwrap_or_else(PoisonError::into_inner);
                *failed = Some(failed.map_or(access, |before| before.max(access)));
                drop(failed);
                if self.health.failed(reason) {
                    tracing::error!(
                        path = %self.path.display(),
                        error = %reason,
                        "store I/O failed; the file will be reopened before the next operation"
                    );
                }
            }
            Ok(_) => {
                let mut failed = self.failed_access.lock().unwrap_or_else(PoisonError::into_inner);
                let cleared = match *failed {
                    None => return,
                    Some(Access::Read) => true,
                    Some(Access::Write) => access == Access::Write,
                };
                if cleared {
                    *failed = None;
                    drop(failed);
                    if self.health.succeeded() {
                        tracing::warn!(path = %self.path.display(), "store recovered after an I/O error");
                    }
                }
            }
            Err(_) => {}
        }
    }
}

fn open_file(path: &Path) -> Result<Database, StoreError> {
    Database::create(path).map_err(|e| match e {
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => StoreError::Corrupt(reason),
        other => StoreError::Open { path: path.display().to_string(), reason: other.to_string() },
    })
}
