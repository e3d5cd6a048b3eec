//! Files of instances under `cloud.data_dir`: disks are `disks/<disk-id>.raw`, per-instance
//! files live in `instances/<instance-id>/` (`seed.img`, and `console.log` written by the VMM).
//!
//! A system disk is a copy-on-write clone of the image (FICLONE when the filesystem can reflink,
//! else a copy that keeps the image's holes, found with SEEK_DATA/SEEK_HOLE), grown to its size;
//! data disks are sparse files. Everything here is blocking I/O: callers run it on a blocking
//! thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

pub const GIB: u64 = 1 << 30;

pub fn disk_path(data_dir: &Path, disk_id: &str) -> PathBuf {
    data_dir.join("disks").join(format!("{disk_id}.raw"))
}

pub fn instance_dir(data_dir: &Path, instance_id: &str) -> PathBuf {
    data_dir.join("instances").join(instance_id)
}

pub fn seed_path(data_dir: &Path, instance_id: &str) -> PathBuf {
    instance_dir(data_dir, instance_id).join("seed.img")
}

pub fn console_path(data_dir: &Path, instance_id: &str) -> PathBuf {
    instance_dir(data_dir, instance_id).join("console.log")
}

/// A new sparse file of `size` bytes (fails if it exists: disk IDs are fresh).
pub fn sparse_file(path: &Path, size: u64) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.set_len(size)
}

/// `dst` becomes a copy-on-write clone of `src` (or a hole-keeping copy), then is grown to
/// `size` bytes. A `size` smaller than the image keeps the image's size.
pub fn clone_image(src: &Path, dst: &Path, size: u64) -> io::Result<()> {
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir)?;
    }
    let input = File::open(src)?;
    let output = OpenOptions::new().write(true).create_new(true).open(dst)?;
    let done = reflink(&input, &output).or_else(|_| sparse_copy(&input, &output));
    if let Err(e) = done {
        let _ = fs::remove_file(dst);
        return Err(e);
    }
    let len = byte_len(&input)?;
    output.set_len(size.max(len))?;
    output.sync_all()
}

/// The size of an image: a regular file's length, or a block device's size (an image store may
/// link an image to a disk, as the nested test host does; a device's metadata says 0 bytes).
fn byte_len(file: &File) -> io::Result<u64> {
    use std::os::unix::fs::FileTypeExt;
    if file.metadata()?.file_type().is_block_device() {
        let mut f = file;
        let len = f.seek(SeekFrom::End(0))?;
        f.seek(SeekFrom::Start(0))?;
        Ok(len)
    } else {
        Ok(file.metadata()?.len())
    }
}

fn reflink(input: &File, output: &File) -> io::Result<()> {
    // FICLONE = _IOW(0x94, 9, int)
    const FICLONE: libc::c_ulong = 0x4004_9409;
    // SAFETY: both descriptors are open files owned by the caller for the whole call.
    let r = unsafe { libc::ioctl(output.as_raw_fd(), FICLONE as _, input.as_raw_fd()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Copies only the data regions of `input`; holes stay holes in `output`.
fn sparse_copy(input: &File, output: &File) -> io::Result<()> {
    let len = byte_len(input)?;
    output.set_len(len)?;
    let (mut input, mut output) = (input, output);
    let mut pos: i64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    while (pos as u64) < len {
        // SAFETY: lseek on an open descriptor has no memory effects.
        let data = unsafe { libc::lseek(input.as_raw_fd(), pos, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole remains
            }
            if e.raw_os_error() == Some(libc::EINVAL) {
                // No SEEK_DATA support: copy everything from here, skipping zero blocks.
                return copy_skipping_zeros(input, output, pos as u64, len, &mut buf);
            }
            return Err(e);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(input.as_raw_fd(), data, libc::SEEK_HOLE) };
        let end = if hole < 0 { len as i64 } else { hole };
        input.seek(SeekFrom::Start(data as u64))?;
        output.seek(SeekFrom::Start(data as u64))?;
        let mut left = (end - data) as u64;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = input.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            output.write_all(&buf[..n])?;
            left -= n as u64;
        }
        pos = end;
    }
    Ok(())
}

fn copy_skipping_zeros(
    mut input: &File,
    mut output: &File,
    from: u64,
    len: u64,
    buf: &mut [u8],
) -> io::Result<()> {
    input.seek(SeekFrom::Start(from))?;
    let mut pos = from;
    while pos < len {
        let n = input.read(buf)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|b| *b != 0) {
            output.seek(SeekFrom::Start(pos))?;
            output.write_all(&buf[..n])?;
        }
        pos += n as u64;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Removes files and directories, ignoring ones already gone; failures are logged, since the
/// records they belonged to are already gone.
pub fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let r = if p.is_dir() {
            fs::remove_dir_all(p)
        } else {
            fs::remove_file(p)
        };
        if let Err(e) = r {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %p.display(), error = %e, "could not remove");
            }
        }
    }
}

/// The last `max` bytes of a file, and its modification time; empty when there is no file.
pub fn tail(path: &Path, max: u64) -> io::Result<(Vec<u8>, Option<std::time::SystemTime>)> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    let len = meta.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut out = Vec::with_capacity(len.min(max) as usize);
    f.take(max).read_to_end(&mut out)?;
    Ok((out, meta.modified().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(crate::ids::new_id("hearth-files"));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn sparse_and_cloned_disks() {
        let d = dir();
        // An "image" of 8 MiB with data only in its first and last MiB.
        let img = d.join("img.raw");
        let mut f = File::create(&img).unwrap();
        f.write_all(&[7u8; 1 << 20]).unwrap();
        f.seek(SeekFrom::Start(7 << 20)).unwrap();
        f.write_all(&[9u8; 1 << 20]).unwrap();
        drop(f);
        let sys = d.join("disks/d-sys.raw");
        clone_image(&img, &sys, GIB).unwrap();
        let meta = fs::metadata(&sys).unwrap();
        assert_eq!(meta.len(), GIB);
        // Holes stay holes: far less than 1 GiB allocated.
        assert!(
            meta.blocks() * 512 < 16 << 20,
            "{} bytes allocated",
            meta.blocks() * 512
        );
        let bytes = fs::read(&sys).unwrap();
        assert_eq!(bytes[0], 7);
        assert_eq!(bytes[(7 << 20) + 5], 9);
        assert_eq!(bytes[3 << 20], 0);
        // The hole-keeping copy on its own, whatever the filesystem can do.
        let copy = d.join("copy.raw");
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&copy)
            .unwrap();
        sparse_copy(&File::open(&img).unwrap(), &out).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), fs::read(&img).unwrap());
        let data = d.join("disks/d-data.raw");
        sparse_file(&data, 20 * GIB).unwrap();
        assert_eq!(fs::metadata(&data).unwrap().len(), 20 * GIB);
        assert!(
            sparse_file(&data, GIB).is_err(),
            "an existing disk is never overwritten"
        );
        let (t, when) = tail(&img, 10).unwrap();
        assert_eq!((t, when.is_some()), (vec![9u8; 10], true));
        assert_eq!(tail(&d.join("none"), 10).unwrap().0, Vec::<u8>::new());
        remove_all(std::slice::from_ref(&d));
        assert!(!d.exists());
    }
}
