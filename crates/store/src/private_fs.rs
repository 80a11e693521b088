//! Data directories only their owner can read: 0700 directories, 0600 files.
//!
//! The supervisor's store and the agent's state (host id, policies, ports, keys) say who may do
//! what on the switch; nobody else on the host should read them. New directories are created
//! 0700 and existing ones are tightened on every start, with the state files in them, so an
//! upgrade from a build that left them 0755/0644 closes the hole without a manual step.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) mode 0700, or tightens it to 0700 if it exists.
///
/// A directory every user may write to (`/tmp`: world-writable or sticky) is refused rather than
/// tightened: it is not a data dir of ours, and closing it would break everyone else.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o1002 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is shared by every user (mode {:o}); give the data a directory of its own",
                dir.display(),
                mode & 0o7777
            ),
        ));
    }
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Removes group and other access from `path` if it exists (a state file an older build wrote
/// world-readable).
pub fn restrict_file(path: &Path) -> io::Result<()> {
    let mode = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => meta.permissions().mode(),
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    fs::set_permissions(path, Permissions::from_mode(mode & 0o700))
}

/// Opens `path` for writing, creating it mode 0600 (an existing file is tightened to 0600 and
/// truncated).
pub fn create_private_file(path: &Path) -> io::Result<fs::File> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Replaces `path` with `bytes` atomically and durably, mode 0600: a reader sees the old file or
/// the new one, never a torn mix, and nobody else ever sees either. Writes a temporary beside it
/// (`NAME.tmp`), fsyncs it, renames it over `path`, then fsyncs the directory so the rename
/// itself survives a power cut.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = create_private_file(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

/// Creates `path` empty, mode 0600, if it does not exist; leaves an existing file's content alone.
pub fn touch_private_file(path: &Path) -> io::Result<()> {
    OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)?;
    fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_shared_by_everyone_is_refused_untouched() {
        let base = tempfile::tempdir().expect("tempdir");
        let shared = base.path().join("tmp");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, Permissions::from_mode(0o1777)).expect("chmod");
        let error = create_private_dir(&shared).expect_err("tightened /tmp");
        assert!(error.to_string().contains("shared by every user (mode 1777)"), "{error}");
        assert_eq!(fs::metadata(&shared).expect("stat").permissions().mode() & 0o7777, 0o1777);
    }

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
        restrict_file(&file).expect("restrict");
        restrict_file(&exec).expect("restrict");
        restrict_file(&dir.join("absent")).expect("nothing to restrict");
        assert_eq!((mode(&dir), mode(&file), mode(&exec)), (0o700, 0o600, 0o700));
        fs::write(&file, "y").expect("write");
        drop(create_private_file(&file).expect("reopen"));
        assert_eq!(fs::read(&file).expect("read"), b"", "create_private_file truncates");
        fs::write(&file, "z").expect("write");
        touch_private_file(&file).expect("touch");
        assert_eq!(fs::read(&file).expect("read"), b"z", "touch keeps the content");
    }
}
