//! Data directories only their owner can read: 0700 directories, 0600 files.
//!
//! The supervisor's store and the agent's state (host id, policies, ports, keys) say who may do
//! what on the switch; nobody else on the host should read them. New directories are created
//! 0700 and existing ones are tightened on every start, with the files directly in them, so an
//! upgrade from a build that left them 0755/0644 closes the hole without a manual step.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) mode 0700, or tightens it to 0700 if it exists, and
/// removes group and other access from every regular file directly in it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let mode = meta.permissions().mode();
        // Sockets keep their own modes (the agent's is set when it is bound).
        if meta.is_file() && mode & 0o077 != 0 {
            fs::set_permissions(entry.path(), Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// Opens `path` for writing, creating it mode 0600 (an existing file is tightened to 0600 and
/// truncated).
pub fn create_private_file(path: &Path) -> io::Result<fs::File> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Creates `path` empty, mode 0600, if it does not exist; leaves an existing file's content alone.
pub fn touch_private_file(path: &Path) -> io::Result<()> {
    OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)?;
    fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_files_are_private() {
        let base = tempfile::tempdir().expect("tempdir");
        let dir = base.path().join("a/b");
        create_private_dir(&dir).expect("create");
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("secret");
        drop(create_private_file(&file).expect("file"));
        assert_eq!(mode(&file), 0o600);
        touch_private_file(&dir.join("db")).expect("touch");
        assert_eq!(mode(&dir.join("db")), 0o600);
    }

    #[test]
    fn existing_ones_are_tightened() {
        let base = tempfile::tempdir().expect("tempdir");
        let dir = base.path().join("d");
        fs::create_dir(&dir).expect("mkdir");
        fs::set_permissions(&dir, Permissions::from_mode(0o755)).expect("chmod");
        let file = dir.join("host-id");
        fs::write(&file, "x").expect("write");
        fs::set_permissions(&file, Permissions::from_mode(0o644)).expect("chmod");
        let exec = dir.join("tool");
        fs::write(&exec, "x").expect("write");
        fs::set_permissions(&exec, Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&dir).expect("tighten");
        assert_eq!((mode(&dir), mode(&file), mode(&exec)), (0o700, 0o600, 0o700));
        fs::write(&file, "y").expect("write");
        drop(create_private_file(&file).expect("reopen"));
        assert_eq!(fs::read(&file).expect("read"), b"", "create_private_file truncates");
        fs::write(&file, "z").expect("write");
        touch_private_file(&file).expect("touch");
        assert_eq!(fs::read(&file).expect("read"), b"z", "touch keeps the content");
    }
}
