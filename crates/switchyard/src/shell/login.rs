//! Who the shell logs in as, and which CA it trusts: from flags, the environment, the local
//! supervisor's data dir, or a prompt — in that order.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::client::Login;

/// The account a local, first-started supervisor creates.
pub const DEFAULT_USER: &str = "admin";
/// Environment variables the shell reads.
pub const USER_ENV: &str = "SWITCHYARD_USER";
pub const PASSWORD_ENV: &str = "SWITCHYARD_PASSWORD";

/// What the shell was told about logging in.
#[derive(Debug, Clone, Default)]
pub struct LoginArgs {
    /// `--user` or `SWITCHYARD_USER`.
    pub user: Option<String>,
    /// `--password-file`.
    pub password_file: Option<PathBuf>,
    /// `--data-dir`: the local supervisor's, whose `admin-password` root may read.
    pub data_dir: PathBuf,
}

/// The login to use, if any. Order: a password from `--password-file` or `SWITCHYARD_PASSWORD`;
/// with no user given, the local supervisor's generated `admin` password (readable by root);
/// else a prompt when stdin is a terminal. `None` when there is nothing to go on (an
/// `--insecure` supervisor needs nothing).
pub fn resolve(args: &LoginArgs) -> anyhow::Result<Option<Login>> {
    let given_password = match &args.password_file {
        Some(file) => Some(read_password(file)?),
        None => std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
    };
    if let Some(password) = given_password {
        let user = args.user.clone().unwrap_or_else(|| DEFAULT_USER.to_owned());
        return Ok(Some(Login { user, password }));
    }
    let generated = local_admin_password(&args.data_dir);
    match (&args.user, generated) {
        (None, Some(password)) => return Ok(Some(Login { user: DEFAULT_USER.to_owned(), password })),
        (Some(user), Some(password)) if user == DEFAULT_USER => {
            return Ok(Some(Login { user: user.clone(), password }));
        }
        _ => {}
    }
    if !std::io::stdin().is_terminal() {
        return match &args.user {
            Some(user) => anyhow::bail!(
                "no password for {user}: give --password-file FILE or {PASSWORD_ENV}, or run the shell on a terminal"
            ),
            None => Ok(None),
        };
    }
    let user = match &args.user {
        Some(user) => user.clone(),
        None => prompt_user()?,
    };
    let password =
        rpassword::prompt_password(format!("Password for {user}: ")).context("reading the password")?;
    Ok(Some(Login { user, password }))
}

/// The generated password of `admin` in a local supervisor's data dir, if this user may read it.
pub fn local_admin_password(data_dir: &Path) -> Option<String> {
    read_password(&data_dir.join(supervisor::trust::first_admin::ADMIN_PASSWORD_FILE)).ok()
}

/// `admin` with the password a local supervisor generated in `data_dir`, if readable.
pub fn local_admin(data_dir: &Path) -> Option<Login> {
    local_admin_password(data_dir).map(|password| Login { user: DEFAULT_USER.to_owned(), password })
}

/// The CA to trust for `https://` URLs: `--ca-cert`, else the local supervisor's
/// `<data-dir>/tls/ca.pem`, else `~/.config/switchyard/ca.pem`; the first that exists.
pub fn ca_cert(given: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    if let Some(given) = given {
        return Some(given.to_owned());
    }
    let home = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/switchyard/ca.pem"));
    [Some(data_dir.join("tls/ca.pem")), home].into_iter().flatten().find(|path| path.is_file())
}

/// A password file's first line (a trailing newline is not part of the password).
fn read_password(file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    anyhow::ensure!(!password.is_empty(), "{} holds no password", file.display());
    Ok(password)
}

fn prompt_user() -> anyhow::Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "login as ({DEFAULT_USER}): ")?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let user = line.trim();
    Ok(if user.is_empty() { DEFAULT_USER.to_owned() } else { user.to_owned() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_password_file_and_the_local_admin_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let args =
            LoginArgs { user: Some("olive".into()), password_file: Some(file), data_dir: dir.path().into() };
        assert_eq!(resolve(&args).unwrap(), Some(Login { user: "olive".into(), password: "s3cret".into() }));
        std::fs::write(dir.path().join("admin-password"), "generated\n").unwrap();
        let args = LoginArgs { data_dir: dir.path().into(), ..LoginArgs::default() };
        assert_eq!(local_admin_password(dir.path()).as_deref(), Some("generated"));
        if std::env::var_os(PASSWORD_ENV).is_none() {
            assert_eq!(resolve(&args).unwrap().map(|login| login.user).as_deref(), Some("admin"));
        }
        assert_eq!(ca_cert(None, dir.path()), None);
        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(dir.path().join("tls/ca.pem"), "").unwrap();
        assert_eq!(ca_cert(None, dir.path()), Some(dir.path().join("tls/ca.pem")));
    }
}
