//! The JSON file that describes one microVM, and the checks that run before anything is created.
//!
//! Every problem found here is reported before the guest starts, naming the field and the value
//! that is wrong, so the caller (a person or hearth's node agent) knows what to fix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The smallest guest we agree to build: below this a Linux kernel cannot even decompress.
pub const MIN_MEMORY_MIB: u64 = 16;
/// KVM's own limit on vCPUs is higher, but the MP table we write addresses CPUs with 8-bit APIC IDs
/// and we reserve one ID for the I/O APIC.
pub const MAX_VCPUS: u8 = 254;
/// A disk is exposed in 512-byte sectors; anything smaller holds nothing a guest could mount.
pub const SECTOR_SIZE: u64 = 512;
/// virtio-blk's GET_ID reply is 20 bytes; a longer serial would be cut silently in the guest.
pub const MAX_DISK_ID_LEN: usize = 20;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    pub vcpus: u8,
    pub memory_mib: u64,
    /// An uncompressed ELF vmlinux (PVH or 64-bit entry) or a bzImage.
    pub kernel: PathBuf,
    #[serde(default)]
    pub initrd: Option<PathBuf>,
    #[serde(default = "default_cmdline")]
    pub cmdline: String,
    #[serde(default)]
    pub disks: Vec<DiskConfig>,
    #[serde(default)]
    pub nics: Vec<NicConfig>,
    /// Whether to give the guest a virtio-rng (entropy from the host's getrandom).
    #[serde(default = "yes")]
    pub rng: bool,
    /// Where everything the guest writes to its serial console goes (appended).
    #[serde(default)]
    pub console_log: Option<PathBuf>,
    /// A unix socket for status, shutdown, stop, pause and resume (JSON lines).
    #[serde(default)]
    pub control_socket: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DiskConfig {
    /// A raw image file; its size is the disk's size, so it must be a whole number of sectors.
    pub path: PathBuf,
    #[serde(default)]
    pub read_only: bool,
    /// What the guest sees as the disk's serial, so /dev/disk/by-id/virtio-<id> names it.
    pub id: String,
    /// Caps on the guest's use of the disk; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<DiskRateLimit>,
}

/// A disk's limits, each optional (absent = that one is unlimited). Each request counts as one
/// operation; reads and writes also count their bytes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DiskRateLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_sec: Option<u64>,
}

/// A NIC's limits in bytes a second, each optional: rx is towards the guest, tx from it.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NicRateLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_bytes_per_sec: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_bytes_per_sec: Option<u64>,
}

/// A limit of 0 would stop the device for good, which nobody means: refuse it by name (leave the
/// field out for no limit).
fn check_limit(what: &str, field: &str, value: Option<u64>) -> Result<(), ConfigError> {
    if value == Some(0) {
        return Err(invalid(format!(
            "{what}: rate_limit.{field} is 0; it must be at least 1 (leave it out for no limit)"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NicConfig {
    /// An existing TAP interface; we never create one, so nothing is left behind on failure.
    pub tap: String,
    /// The guest's MAC, "52:54:00:12:34:56".
    pub mac: String,
    /// Caps on the NIC's traffic; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<NicRateLimit>,
}

fn default_cmdline() -> String {
    "console=ttyS0 reboot=k panic=1 pci=off".to_string()
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The underlying errors are part of the message, not `source`s, so that printing the
    // error chain does not say them twice.
    #[error("cannot read the VM config {path}: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("the VM config {path} is not valid: {err}")]
    Parse {
        path: PathBuf,
        err: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

impl VmConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<VmConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            path: path.to_path_buf(),
            err,
        })?;
        let config = VmConfig::parse(&text).map_err(|e| match e {
            ConfigError::Parse { err, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                err,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses and validates config text (unknown keys are an error, not silently ignored).
    pub fn parse(text: &str) -> Result<VmConfig, ConfigError> {
        let config: VmConfig = serde_json::from_str(text).map_err(|err| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            err,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Everything that can be checked without creating a VM: sizes, files, TAPs, host memory.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vcpus == 0 || self.vcpus > MAX_VCPUS {
            return Err(invalid(format!(
                "vcpus is {}; it must be between 1 and {MAX_VCPUS}",
                self.vcpus
            )));
        }
        if self.memory_mib < MIN_MEMORY_MIB {
            return Err(invalid(format!(
                "memory_mib is {}; a guest needs at least {MIN_MEMORY_MIB} MiB",
                self.memory_mib
            )));
        }
        if let Some(host_mib) = host_memory_mib() {
            if self.memory_mib > host_mib {
                return Err(invalid(format!(
                    "memory_mib is {} but this host has only {host_mib} MiB of RAM",
                    self.memory_mib
                )));
            }
        }
        check_readable_file("kernel", &self.kernel)?;
        if let Some(initrd) = &self.initrd {
            check_readable_file("initrd", initrd)?;
        }
        if self.cmdline.contains('\0') {
            return Err(invalid("cmdline contains a NUL byte"));
        }
        for (i, disk) in self.disks.iter().enumerate() {
            disk.validate(i)?;
        }
        for (i, a) in self.disks.iter().enumerate() {
            if self.disks[..i].iter().any(|b| b.id == a.id) {
                return Err(invalid(format!("disks: the id {:?} is used twice", a.id)));
            }
        }
        for (i, nic) in self.nics.iter().enumerate() {
            nic.validate(i)?;
        }
        if let Some(dir) = self.console_log.as_ref().and_then(|p| p.parent()) {
            if !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(invalid(format!(
                    "console_log: the directory {} does not exist",
                    dir.display()
                )));
            }
        }
        if let Some(sock) = &self.control_socket {
            if let Some(dir) = sock.parent() {
                if !dir.as_os_str().is_empty() && !dir.is_dir() {
                    return Err(invalid(format!(
                        "control_socket: the directory {} does not exist",
                        dir.display()
                    )));
                }
            }
            if sock.exists() {
                return Err(invalid(format!(
                    "control_socket: {} already exists (another VMM running, or a stale socket to remove)",
                    sock.display()
                )));
            }
        }
        Ok(())
    }

    /// How many virtio-mmio devices this VM will have, in the order they are placed.
    pub fn virtio_device_count(&self) -> usize {
        self.disks.len() + self.nics.len() + usize::from(self.rng)
    }
}

impl DiskConfig {
    fn validate(&self, index: usize) -> Result<(), ConfigError> {
        let what = format!("disks[{index}] ({})", self.path.display());
        if self.id.is_empty() || self.id.len() > MAX_DISK_ID_LEN {
            return Err(invalid(format!(
                "{what}: id {:?} must be 1 to {MAX_DISK_ID_LEN} bytes",
                self.id
            )));
        }
        if !self.id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(format!(
                "{what}: id {:?} must be printable ASCII without spaces",
                self.id
            )));
        }
        if let Some(limit) = &self.rate_limit {
            check_limit(&what, "iops", limit.iops)?;
            check_limit(&what, "bytes_per_sec", limit.bytes_per_sec)?;
        }
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| invalid(format!("{what}: cannot open the image: {e}")))?;
        if !meta.is_file() && !is_block_device(&meta) {
            return Err(invalid(format!("{what}: not a file")));
        }
        let size = meta.len();
        if meta.is_file() && size < SECTOR_SIZE {
            return Err(invalid(format!(
                "{what}: the image is {size} bytes, too small for even one 512-byte sector"
            )));
        }
        if meta.is_file() && size % SECTOR_SIZE != 0 {
            return Err(invalid(format!(
                "{what}: the image is {size} bytes, not a whole number of 512-byte sectors"
            )));
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(!self.read_only);
        options
            .open(&self.path)
            .map_err(|e| invalid(format!("{what}: cannot open the image: {e}")))?;
        Ok(())
    }
}

impl NicConfig {
    fn validate(&self, index: usize) -> Result<(), ConfigError> {
        parse_mac(&self.mac).ok_or_else(|| {
            invalid(format!(
                "nics[{index}]: mac {:?} is not a MAC address like 52:54:00:12:34:56",
                self.mac
            ))
        })?;
        if let Some(limit) = &self.rate_limit {
            let what = format!("nics[{index}]");
            check_limit(&what, "rx_bytes_per_sec", limit.rx_bytes_per_sec)?;
            check_limit(&what, "tx_bytes_per_sec", limit.tx_bytes_per_sec)?;
        }
        if self.tap.is_empty() || self.tap.len() >= libc::IFNAMSIZ || self.tap.contains('/') {
            return Err(invalid(format!(
                "nics[{index}]: {:?} is not a valid interface name",
                self.tap
            )));
        }
        // if_nametoindex asks the kernel about this process's network namespace; /sys/class/net
        // shows the namespace sysfs was mounted in, which may be another one.
        if !interface_exists(&self.tap) {
            return Err(invalid(format!(
                "nics[{index}]: the TAP interface {:?} does not exist; create it first (ip tuntap add {} mode tap)",
                self.tap, self.tap
            )));
        }
        Ok(())
    }
}

/// "52:54:00:12:34:56" to bytes; a multicast MAC is refused because no NIC may own one.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in mac.iter_mut() {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    if parts.next().is_some() || mac[0] & 1 == 1 {
        return None;
    }
    Some(mac)
}

fn check_readable_file(field: &str, path: &Path) -> Result<(), ConfigError> {
    match std::fs::File::open(path) {
        Ok(f) => match f.metadata() {
            Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
            Ok(_) => Err(invalid(format!(
                "{field}: {} is empty or not a regular file",
                path.display()
            ))),
            Err(e) => Err(invalid(format!("{field}: {}: {e}", path.display()))),
        },
        Err(e) => Err(invalid(format!(
            "{field}: cannot open {}: {e}",
            path.display()
        ))),
    }
}

fn is_block_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_block_device()
}

/// MemTotal of the host; None when /proc/meminfo cannot be read (then mmap decides).
fn host_memory_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Whether this process's network namespace has an interface `name`.
pub fn interface_exists(name: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated string; the call only reads it.
    unsafe { libc::if_nametoindex(name.as_ptr()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_kernel(dir: &Path, body: &str) -> String {
        let kernel = dir.join("vmlinux");
        std::fs::write(&kernel, b"not really a kernel").unwrap();
        body.replace("KERNEL", kernel.to_str().unwrap())
    }

    fn err(text: &str) -> String {
        VmConfig::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let c = VmConfig::parse(&with_kernel(
            dir.path(),
            r#"{"vcpus":2,"memory_mib":512,"kernel":"KERNEL"}"#,
        ))
        .unwrap();
        assert_eq!(c.vcpus, 2);
        assert!(c.rng);
        assert!(c.cmdline.contains("console=ttyS0"));
        assert_eq!(c.virtio_device_count(), 1);
    }

    #[test]
    fn unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","memroy":1}"#,
        ));
        assert!(e.contains("unknown field `memroy`"), "{e}");
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","disks":[{"path":"x","id":"a","ro":true}]}"#,
        ));
        assert!(e.contains("unknown field `ro`"), "{e}");
    }

    #[test]
    fn missing_kernel_is_named() {
        let e = err(r#"{"vcpus":1,"memory_mib":64,"kernel":"/nonexistent/vmlinux"}"#);
        assert!(
            e.contains("kernel") && e.contains("/nonexistent/vmlinux"),
            "{e}"
        );
    }

    #[test]
    fn memory_limits() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":4,"kernel":"KERNEL"}"#,
        ));
        assert!(e.contains("at least 16 MiB"), "{e}");
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":100000000,"kernel":"KERNEL"}"#,
        ));
        assert!(e.contains("this host has only"), "{e}");
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":0,"memory_mib":64,"kernel":"KERNEL"}"#,
        ));
        assert!(e.contains("vcpus is 0"), "{e}");
    }

    #[test]
    fn disk_images_must_be_whole_sectors() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.img");
        std::fs::write(&small, [0u8; 100]).unwrap();
        let odd = dir.path().join("odd.img");
        std::fs::write(&odd, [0u8; 1000]).unwrap();
        let good = dir.path().join("good.img");
        std::fs::write(&good, [0u8; 1024]).unwrap();
        let cfg = |p: &Path, id: &str| {
            with_kernel(
                dir.path(),
                &format!(
                    r#"{{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","disks":[{{"path":"{}","id":"{id}"}}]}}"#,
                    p.display()
                ),
            )
        };
        assert!(err(&cfg(&small, "d")).contains("too small"));
        assert!(err(&cfg(&odd, "d")).contains("not a whole number"));
        assert!(err(&cfg(&dir.path().join("none.img"), "d")).contains("none.img"));
        assert!(err(&cfg(&good, "this-id-is-longer-than-20")).contains("1 to 20 bytes"));
        VmConfig::parse(&cfg(&good, "data-1")).unwrap();
    }

    #[test]
    fn rate_limits_parse_and_zero_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("d.img");
        std::fs::write(&img, [0u8; 1024]).unwrap();
        let cfg = |limit: &str| {
            with_kernel(
                dir.path(),
                &format!(
                    r#"{{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","disks":[{{"path":"{}","id":"d","rate_limit":{limit}}}]}}"#,
                    img.display()
                ),
            )
        };
        let c = VmConfig::parse(&cfg(r#"{"iops":2000,"bytes_per_sec":20000000}"#)).unwrap();
        assert_eq!(
            c.disks[0].rate_limit,
            Some(DiskRateLimit {
                iops: Some(2000),
                bytes_per_sec: Some(20_000_000)
            })
        );
        let c = VmConfig::parse(&cfg(r#"{"iops":5}"#)).unwrap();
        assert_eq!(c.disks[0].rate_limit.unwrap().bytes_per_sec, None);
        let e = err(&cfg(r#"{"iops":0}"#));
        assert!(
            e.contains("disks[0]") && e.contains("rate_limit.iops is 0"),
            "{e}"
        );
        let e = err(&cfg(r#"{"bytes_per_sec":0}"#));
        assert!(e.contains("rate_limit.bytes_per_sec is 0"), "{e}");
        let e = err(&cfg(r#"{"iops":1,"mbps":3}"#));
        assert!(e.contains("unknown field `mbps`"), "{e}");
        let e = err(&cfg(r#"{"iops":-1}"#));
        assert!(e.contains("invalid value"), "{e}");

        // A NIC's limit is checked before its TAP (which does not exist here).
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","nics":[{"tap":"hearthnotap0","mac":"52:54:00:00:00:01","rate_limit":{"rx_bytes_per_sec":1,"tx_bytes_per_sec":0}}]}"#,
        ));
        assert!(
            e.contains("nics[0]: rate_limit.tx_bytes_per_sec is 0"),
            "{e}"
        );
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","nics":[{"tap":"hearthnotap0","mac":"52:54:00:00:00:01","rate_limit":{"egress":1}}]}"#,
        ));
        assert!(e.contains("unknown field `egress`"), "{e}");
    }

    #[test]
    fn no_rate_limit_is_left_out_when_written() {
        let disk = DiskConfig {
            path: "d.img".into(),
            read_only: false,
            id: "d".into(),
            rate_limit: None,
        };
        let json = serde_json::to_string(&disk).unwrap();
        assert!(!json.contains("rate_limit"), "{json}");
    }

    #[test]
    fn missing_tap_is_named_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(&with_kernel(
            dir.path(),
            r#"{"vcpus":1,"memory_mib":64,"kernel":"KERNEL","nics":[{"tap":"hearthnotap0","mac":"52:54:00:00:00:01"}]}"#,
        ));
        assert!(
            e.contains("hearthnotap0") && e.contains("does not exist"),
            "{e}"
        );
        assert!(!interface_exists("hearthnotap0"));
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("52:54:00:12:34:56"),
            Some([0x52, 0x54, 0, 0x12, 0x34, 0x56])
        );
        assert_eq!(parse_mac("01:00:00:00:00:00"), None);
        assert_eq!(parse_mac("52:54:00:12:34"), None);
        assert_eq!(parse_mac("52:54:00:12:34:56:78"), None);
        assert_eq!(parse_mac("5:54:00:12:34:56"), None);
    }
}
