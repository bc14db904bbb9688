//! Files written whole or not at all: each is written to a temporary file in
//! its target's directory (so the rename stays on one file system), flushed to
//! disk, then renamed over the target. A reader, or the next run, sees the old
//! file or the new one, never a truncated one; a failed write leaves the old
//! file in place and no temporary behind. Models, checkpoints, reports and
//! generated RTL are all written this way.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {error}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl WriteError {
    fn at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
        move |error| WriteError {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// A file whose contents are complete before it takes its name: write, then
/// [`Staged::commit`]; dropped without a commit, it is removed.
pub struct Staged {
    target: PathBuf,
    file: tempfile::NamedTempFile,
}

impl Staged {
    /// Start writing `target`; its directory is created if missing.
    pub fn new(target: &Path) -> Result<Self, WriteError> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(WriteError::at(&dir))?;
        let file = tempfile::Builder::new()
            .prefix(".spikeslice-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(WriteError::at(target))?;
        Ok(Self {
            target: target.to_path_buf(),
            file,
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(WriteError::at(&self.target))
    }

    /// The target path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flush to disk and give the file its name.
    pub fn commit(self) -> Result<PathBuf, WriteError> {
        let target = self.target;
        self.file
            .as_file()
            .sync_all()
            .map_err(WriteError::at(&target))?;
        // The permissions a plain create gives (a temporary file is 0600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o666 & !umask();
            let _ =
                std::fs::set_permissions(self.file.path(), std::fs::Permissions::from_mode(mode));
        }
        self.file
            .persist(&target)
            .map_err(|e| e.error)
            .map_err(WriteError::at(&target))?;
        Ok(target)
    }
}

/// The process umask, from /proc (reading it otherwise means setting it);
/// the common 022 where /proc does not say.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Whether `path` exists and is not a regular file or directory: a device
/// (`/dev/null`, `/dev/full`, a terminal) or a FIFO, written in place (renaming
/// over it would replace the device with a file).
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Write `bytes` to `path` atomically (a device or FIFO: in place).
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    if is_special(path) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.flush()))
            .map_err(WriteError::at(path));
    }
    let mut f = Staged::new(path)?;
    f.write_all(bytes)?;
    f.commit()?;
    Ok(())
}

/// Write several files, none of which takes its name unless all were written
/// completely: all are staged first, then renamed in the given order (put
/// the file readers open first, e.g. a model's JSON spec, last).
pub fn write_all(files: &[(PathBuf, Vec<u8>)]) -> Result<(), WriteError> {
    if files.iter().any(|(p, _)| is_special(p)) {
        for (p, bytes) in files {
            write(p, bytes)?;
        }
        return Ok(());
    }
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut f = Staged::new(path)?;
        f.write_all(bytes)?;
        staged.push(f);
    }
    for f in staged {
        f.commit()?;
    }
    Ok(())
}

/// Write `path` atomically through a writer that takes a path (a plotting
/// or tensor library's `save`): `write` gets a temporary path in the same
/// directory, with the same extension, which is renamed to `path` when it
/// returns `Ok`, and removed otherwise.
pub fn write_via<E: From<WriteError>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if is_special(path) {
        return write(path);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(WriteError::at(&dir))?;
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let file = tempfile::Builder::new()
        .prefix(".spikeslice-")
        .suffix(&suffix)
        .tempfile_in(&dir)
        .map_err(WriteError::at(path))?;
    write(file.path())?;
    // Writers open the path with a truncating create: the same file, so
    // syncing this handle syncs what they wrote.
    let staged = Staged {
        target: path.to_path_buf(),
        file,
    };
    staged.commit()?;
    Ok(())
}
