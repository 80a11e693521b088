//! Crash-safe file replacement: a reader sees the old file or the new one, never a torn mix.
//! Every file is written mode 0600: the agent's state is for root only.

use std::io;
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably, mode 0600 (the one implementation, in
/// `store::private_fs`, which the supervisor's key and password files use too).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    store::private_fs::write_atomically(path, bytes)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        write_atomically(&path, b"one").expect("first write");
        write_atomically(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
    }
}
