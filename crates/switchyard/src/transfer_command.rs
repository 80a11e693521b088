//! `switchyard supervisor export` and `import`: files and summaries around
//! [`supervisor::transfer`], which does the reading, checking and writing.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use store::Store;
use supervisor::transfer::{self, ImportOptions, TransferError, format};

/// `-` for stdin / stdout.
const STANDARD_STREAM: &str = "-";

/// Exports `store` to `output` (a file, written whole or not at all; or `-`, stdout) and says
/// what went: on stdout after a file, on stderr after stdout.
pub async fn export(store: &dyn Store, output: &Path) -> anyhow::Result<()> {
    if output == Path::new(STANDARD_STREAM) {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let summary = transfer::export(store, &mut out).await?;
        out.flush().context("writing the export to stdout")?;
        eprint!("{}", export_report(&summary, "stdout"));
        return Ok(());
    }
    // Written beside the target and renamed into place: an interrupted export leaves no file that
    // looks whole, and the target is never half-overwritten. Private: it holds password hashes.
    let partial = partial_path(output);
    let written = async {
        let file = store::private_fs::create_private_file(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let mut out = BufWriter::new(file);
        let summary = transfer::export(store, &mut out).await?;
        let file = out.into_inner().map_err(|e| e.into_error()).context("writing the export")?;
        file.sync_all().context("flushing the export to disk")?;
        std::fs::rename(&partial, output)
            .with_context(|| format!("renaming {} to {}", partial.display(), output.display()))?;
        anyhow::Ok(summary)
    }
    .await;
    match written {
        Ok(summary) => {
            print!("{}", export_report(&summary, &output.display().to_string()));
            Ok(())
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// Reads and checks the export in `input` (a file, or `-`: stdin), before any store is opened.
pub fn read_export(input: &Path) -> anyhow::Result<format::Export> {
    let export = if input == Path::new(STANDARD_STREAM) {
        format::read(std::io::stdin().lock())
    } else {
        let file = File::open(input).with_context(|| format!("opening {}", input.display()))?;
        format::read(BufReader::new(file))
    };
    export.map_err(|error| TransferError::from(error).into())
}

/// Writes a checked export into `store` and says what came.
pub async fn import(store: &dyn Store, export: format::Export, force: bool) -> anyhow::Result<()> {
    let summary =
        transfer::import_checked(store, export, ImportOptions { force }).await.map_err(|error| {
            let forced = matches!(error, TransferError::NotEmpty { .. } | TransferError::Partial { .. });
            let error = anyhow::Error::new(error);
            if forced { error.context("importing (to replace what the store holds: --force)") } else { error }
        })?;
    print!("{}", import_report(&summary));
    Ok(())
}

fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

fn export_report(summary: &transfer::ExportSummary, to: &str) -> String {
    let live = match summary.skipped_live {
        0 => String::new(),
        n => format!("; {n} live keys left out"),
    };
    format!(
        "Exported {} keys (store revision {}) to {to}{live}:\n{}",
        summary.keys, summary.revision, summary.kinds
    )
}

fn import_report(summary: &transfer::ImportSummary) -> String {
    let deleted = match summary.deleted {
        0 => String::new(),
        n => format!("; deleted {n} keys the file does not hold"),
    };
    format!(
        "Imported {} keys in {} transactions (exported {} UTC at revision {}; store revision now {}){deleted}:\n{}\
         Start the supervisor on this store with the data dir whose tls/ the agents trust.\n",
        summary.keys,
        summary.transactions,
        supervisor::clock::format_timestamp(summary.exported_at_unix_ms),
        summary.source_revision,
        summary.revision,
        summary.kinds
    )
}
