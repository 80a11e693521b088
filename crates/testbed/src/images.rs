//! Container images for tests, made here from the host's static busybox (no registry needed):
//! a root filesystem tarball for `docker import` and `podman import`.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Where Debian's `busybox-static` puts the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// The applets the tests run, linked to busybox under `/bin`.
pub const APPLETS: &[&str] = &["sh", "ip", "ping", "sleep", "cat", "true", "nc"];

/// Writes `dir/rootfs.tar`: a root filesystem holding `/bin/busybox` and [`APPLETS`].
pub fn busybox_rootfs(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin"))?;
    std::fs::copy(BUSYBOX, root.join("bin/busybox"))
        .with_context(|| format!("copying {BUSYBOX} (apt-get install busybox-static)"))?;
    for applet in APPLETS {
        symlink("busybox", root.join("bin").join(applet))?;
    }
    let tar = dir.join("rootfs.tar");
    let out = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tar).arg(".").output()?;
    if !out.status.success() {
        bail!("tar: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(tar)
}
