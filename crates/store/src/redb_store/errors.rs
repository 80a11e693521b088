//! How redb's and the codec's errors read as [`StoreError`]s.

use crate::StoreError;
use crate::codec::DecodeError;

impl From<redb::Error> for StoreError {
    fn from(error: redb::Error) -> Self {
        match error {
            redb::Error::Corrupted(reason) => StoreError::Corrupt(reason),
            redb::Error::DatabaseClosed => StoreError::Closed,
            other => StoreError::Io(other.to_string()),
        }
    }
}

/// redb has one error type per operation; each funnels through [`redb::Error`].
macro_rules! via_redb_error {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for StoreError {
            fn from(error: $error) -> Self {
                redb::Error::from(error).into()
            }
        }
    )*};
}

via_redb_error!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError,
);

impl From<DecodeError> for StoreError {
    fn from(error: DecodeError) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(error: tokio::task::JoinError) -> Self {
        StoreError::Io(format!("a store task failed: {error}"))
    }
}
