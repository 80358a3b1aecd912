//! The one way this workspace writes files: never half of one, never none.
//!
//! Every writer (download, cache, checkpoints, artifacts, plots, the model directory, the study's
//! report) goes through here: the bytes go to a temp file beside the destination (same
//! directory, so the rename never crosses file systems), the file is fsynced, renamed over the
//! destination, and the directory is fsynced so the rename itself survives a crash. A reader
//! sees the old file or the new one; a failed write (disk full, read-only directory, a kill)
//! leaves the old one and no temp file (the temp is deleted on drop; only a `kill -9` between
//! create and rename can leave a `.NAME.*.part` behind, named for what it is).
//!
//! A directory (the model directory) is replaced with [`replace_dir`]: on Linux one
//! `renameat2(RENAME_EXCHANGE)` swaps the new directory in, so the destination is never missing.
//!
//! A directory that one process writes at a time (a run's artifacts, a study) is held with a
//! [`DirLock`]: a second writer fails at once, naming the holder, instead of interleaving files.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written beside its destination; [`commit`](Self::commit) puts it in place.
/// Dropped without committing, the temp file is deleted and the destination is untouched.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// A temp file `.NAME.XXXXXX.part.EXT` in `dest`'s directory (created if missing); its
    /// extension is `dest`'s, for writers that pick a format by it.
    ///
    /// # Errors
    /// The directory cannot be created or written.
    pub fn new(dest: &Path) -> io::Result<Self> {
        let dir = parent(dest);
        std::fs::create_dir_all(dir)?;
        let name = dest
            .file_name()
            .map_or("file".into(), |n| n.to_string_lossy());
        let suffix = match dest.extension() {
            Some(ext) => format!(".part.{}", ext.to_string_lossy()),
            None => ".part".into(),
        };
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        // A temp file is private (0600) by default; the result is an ordinary file, so it gets
        // the mode a plain create would (0666 less the umask).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(dir)?;
        Ok(Self {
            tmp,
            dest: dest.to_owned(),
        })
    }

    /// The temp file's path, for writers that open a path themselves (Burn's recorders,
    /// plotters).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The temp file, for writers that take a file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the temp file, renames it over the destination and syncs the directory.
    ///
    /// # Errors
    /// The sync or the rename failed; the destination is then as it was.
    pub fn commit(self) -> io::Result<()> {
        // Reopened by path: a writer given the path may have replaced the file behind it.
        File::open(self.tmp.path())?.sync_all()?;
        self.tmp.persist(&self.dest).map_err(|e| e.error)?;
        sync_dir(parent(&self.dest));
        Ok(())
    }
}

/// Writes `bytes` to `dest` atomically (see the module docs).
///
/// # Errors
/// Creating, writing, syncing or renaming failed; `dest` is then as it was.
pub fn write(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::new(dest)?;
    file.file().write_all(bytes)?;
    file.commit()
}

/// Replaces the directory `target` by the complete directory `new` (a sibling of `target`, e.g.
/// made with `tempfile::Builder::tempdir_in(target's parent)`), syncing `new`'s files first.
///
/// `target` is never missing: on Linux the two are exchanged in one `renameat2` and the old
/// contents then removed; elsewhere the old directory is first renamed aside (a moment without
/// `target`), then removed.
///
/// # Errors
/// Syncing or renaming failed; `target` is then as it was (or, off Linux, renamed aside as
/// `.NAME.old` if the second rename failed).
pub fn replace_dir(new: &Path, target: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(new)? {
        let path = entry?.path();
        if path.is_file() {
            File::open(&path)?.sync_all()?;
        }
    }
    sync_dir(new);
    if target.exists() {
        exchange_or_swap(new, target)?;
        // `new` now holds the old contents.
        std::fs::remove_dir_all(new)?;
    } else {
        std::fs::rename(new, target)?;
    }
    sync_dir(parent(target));
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange_or_swap(new: &Path, target: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, new, CWD, target, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        // A file system without RENAME_EXCHANGE (some network ones): the portable way.
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            swap_by_renames(new, target)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange_or_swap(new: &Path, target: &Path) -> io::Result<()> {
    swap_by_renames(new, target)
}

/// `target` aside, `new` in, the old contents where `new` was.
fn swap_by_renames(new: &Path, target: &Path) -> io::Result<()> {
    let name = target
        .file_name()
        .map_or("dir".into(), |n| n.to_string_lossy());
    let aside = parent(target).join(format!(".{name}.old"));
    if aside.exists() {
        std::fs::remove_dir_all(&aside)?;
    }
    std::fs::rename(target, &aside)?;
    std::fs::rename(new, target)?;
    std::fs::rename(&aside, new)
}

/// An exclusive advisory lock on `DIR/.lock`, held until dropped; the file holds the holder's
/// process id for the error a second writer gets. The operating system releases the lock when
/// the process ends, however it ends (`kill -9` included), so a stale lock file never blocks.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// The lock file's name inside a locked directory.
    pub const FILE: &'static str = ".lock";

    /// Takes the lock of `dir` (created if missing) without waiting.
    ///
    /// # Errors
    /// [`DataError::DirectoryInUse`](crate::DataError::DirectoryInUse) naming the directory and
    /// the holder's process id when another process (or another lock in this one) holds it;
    /// [`DataError::Io`](crate::DataError::Io) naming the file otherwise.
    pub fn acquire(dir: &Path) -> crate::Result<Self> {
        use crate::DataError;
        use std::io::{Read, Seek};
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        let path = dir.join(Self::FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| DataError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                let pid = format!("process {}", std::process::id());
                file.set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(|e| DataError::io(&path, e))?;
                Ok(Self { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(DataError::DirectoryInUse {
                    dir: dir.to_owned(),
                    holder: if holder.is_empty() {
                        "a process".into()
                    } else {
                        holder
                    },
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(DataError::io(&path, e)),
        }
    }

    /// Whether some process holds the lock of `dir` right now (a lock file with no holder, or
    /// none at all, is free).
    ///
    /// # Errors
    /// The lock file exists but cannot be opened.
    pub fn is_held(dir: &Path) -> io::Result<bool> {
        let path = dir.join(Self::FILE);
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            other => other?,
        };
        match file.try_lock() {
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename durable. Best effort: a failure cannot un-write a complete file, and Windows
/// cannot open directories this way at all.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Sorted file names in `dir`: shows any temp file left behind (the tests of every writer).
#[cfg(test)]
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/results.json");
        write(&dest, b"one").unwrap();
        write(&dest, b"two").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        assert_eq!(listing(&dir.path().join("sub")), ["results.json"]);
    }

    /// The written file has a plain file's mode, not a temp file's 0600.
    #[cfg(unix)]
    #[test]
    fn a_written_file_is_an_ordinary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (atomic, plain) = (dir.path().join("a"), dir.path().join("b"));
        write(&atomic, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn an_abandoned_write_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("model.bpk");
        write(&dest, b"good").unwrap();
        {
            let mut pending = AtomicFile::new(&dest).unwrap();
            assert!(pending.path().to_string_lossy().ends_with(".part.bpk"));
            pending.file().write_all(b"half").unwrap();
            // Dropped: a failed writer returns early like this.
        }
        assert_eq!(std::fs::read(&dest).unwrap(), b"good");
        assert_eq!(listing(dir.path()), ["model.bpk"]);
    }

    /// A reader polling the directory while it is replaced a hundred times always finds it,
    /// always complete (the rename exchange; the old remove-then-rename had a gap).
    #[test]
    fn a_replaced_directory_is_never_missing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        let fill = |dir: &Path, n: usize| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("a"), n.to_string()).unwrap();
            std::fs::write(dir.join("b"), n.to_string()).unwrap();
        };
        fill(&target, 0);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (target, stop) = (target.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let a = std::fs::read_to_string(target.join("a"));
                    assert!(a.is_ok(), "model/a missing during a replace");
                    reads += 1;
                }
                reads
            })
        };
        for n in 1..=100 {
            let new = tempfile::Builder::new()
                .tempdir_in(root.path())
                .unwrap()
                .keep();
            fill(&new, n);
            replace_dir(&new, &target).unwrap();
            assert!(!new.exists(), "the old contents are removed");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        assert_eq!(std::fs::read_to_string(target.join("b")).unwrap(), "100");
        assert_eq!(listing(root.path()), ["model"]);
    }

    /// A second lock of a held directory fails naming the holder; once dropped it is free.
    #[test]
    fn a_directory_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let held = DirLock::acquire(dir.path()).unwrap();
        assert!(DirLock::is_held(dir.path()).unwrap());
        match DirLock::acquire(dir.path()) {
            Err(crate::DataError::DirectoryInUse { holder, .. }) => {
                assert_eq!(holder, format!("process {}", std::process::id()))
            }
            other => panic!("expected DirectoryInUse, got {other:?}"),
        }
        drop(held);
        assert!(!DirLock::is_held(dir.path()).unwrap());
        let _again = DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_first_replace_is_a_rename() {
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join(".new");
        std::fs::create_dir(&new).unwrap();
        std::fs::write(new.join("x"), "1").unwrap();
        replace_dir(&new, &root.path().join("model")).unwrap();
        assert_eq!(listing(root.path()), ["model"]);
    }
}
