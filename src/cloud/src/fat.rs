//! A tiny FAT12 writer for seed volumes: a handful of small files in the root directory of a
//! labelled volume, nothing else. hearth builds cloud-init `cidata` volumes with it so no mkfs
//! or mtools is needed at run time.
//!
//! Layout: one boot sector, two FATs, a 64-entry root directory, then the data area. Files are
//! stored in contiguous cluster runs. Long names (VFAT LFN entries) keep names such as
//! `network-config` exactly as written, lower case included, which is what cloud-init and the
//! tiny image's agent look up.

/// Bytes per sector.
const SECTOR: usize = 512;
/// Root directory entries (32 bytes each): 4 sectors.
const ROOT_ENTRIES: usize = 64;
/// FAT12 holds at most 4084 clusters; Linux decides the FAT type by the count, so stay below.
const MAX_CLUSTERS: usize = 4000;
/// The smallest volume written: 1 MiB, like `mkfs.vfat -C img 1024`.
const MIN_SECTORS: usize = 2048;

/// A FAT12 image holding `files` (name, contents) in its root directory, labelled `label`
/// (at most 11 characters, stored upper-case as DOS labels are). Names must be 1–255 ASCII
/// characters without `/`; at most 9 files (short aliases are `XXXXXX~1` to `~9`).
pub fn build(label: &str, files: &[(&str, &[u8])]) -> Result<Vec<u8>, String> {
    if files.len() > 9 {
        return Err("a seed volume holds at most 9 files".into());
    }
    let label = short_label(label)?;
    for (name, _) in files {
        if name.is_empty() || name.len() > 255 || !name.is_ascii() || name.contains('/') {
            return Err(format!("{name:?} is not a file name this writer supports"));
        }
    }
    // Size: enough clusters for the files plus room, with 1 sector per cluster when possible.
    let data_bytes: usize = files
        .iter()
        .map(|(_, d)| d.len().div_ceil(SECTOR) * SECTOR)
        .sum();
    let mut per_cluster = 1usize;
    while data_bytes / (per_cluster * SECTOR) + 16 > MAX_CLUSTERS {
        per_cluster *= 2;
        if per_cluster > 64 {
            return Err("the files are too large for a FAT12 seed volume".into());
        }
    }
    let cluster_bytes = per_cluster * SECTOR;
    let clusters_needed: usize = files
        .iter()
        .map(|(_, d)| d.len().div_ceil(cluster_bytes))
        .sum();
    let clusters = (clusters_needed + 16)
        .max(MIN_SECTORS / per_cluster)
        .min(MAX_CLUSTERS);
    let fat_sectors = ((clusters + 2) * 3).div_ceil(2).div_ceil(SECTOR);
    let root_sectors = ROOT_ENTRIES * 32 / SECTOR;
    let data_start = 1 + 2 * fat_sectors + root_sectors;
    let total_sectors = data_start + clusters * per_cluster;
    let mut img = vec![0u8; total_sectors * SECTOR];

    boot_sector(&mut img, &label, per_cluster, fat_sectors, total_sectors);

    // FAT entries: 0 and 1 are reserved (media byte), then one chain per file.
    let mut fat = vec![0u16; clusters + 2];
    fat[0] = 0xFF8;
    fat[1] = 0xFFF;
    let mut next_cluster = 2usize;
    let mut entries: Vec<[u8; 32]> = vec![label_entry(&label)];
    for (n, (name, data)) in files.iter().enumerate() {
        let count = data.len().div_ceil(cluster_bytes);
        let first = if count == 0 { 0 } else { next_cluster };
        for c in 0..count {
            let cluster = next_cluster + c;
            fat[cluster] = if c + 1 == count {
                0xFFF
            } else {
                (cluster + 1) as u16
            };
            let at = (data_start + (cluster - 2) * per_cluster) * SECTOR;
            let chunk = &data[c * cluster_bytes..data.len().min((c + 1) * cluster_bytes)];
            img[at..at + chunk.len()].copy_from_slice(chunk);
        }
        next_cluster += count;
        let short = short_name(name, n + 1);
        entries.extend(lfn_entries(name, &short));
        entries.push(file_entry(&short, first as u16, data.len() as u32));
    }
    if entries.len() > ROOT_ENTRIES {
        return Err("too many directory entries for the root directory".into());
    }
    let fat_bytes = pack_fat12(&fat);
    for copy in 0..2 {
        let at = (1 + copy * fat_sectors) * SECTOR;
        img[at..at + fat_bytes.len()].copy_from_slice(&fat_bytes);
    }
    let root_at = (1 + 2 * fat_sectors) * SECTOR;
    for (i, e) in entries.iter().enumerate() {
        img[root_at + i * 32..root_at + (i + 1) * 32].copy_from_slice(e);
    }
    Ok(img)
}

fn short_label(label: &str) -> Result<[u8; 11], String> {
    let upper = label.to_ascii_uppercase();
    if upper.is_empty()
        || upper.len() > 11
        || !upper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "{label:?} is not a volume label (1-11 letters, digits, _ or -)"
        ));
    }
    let mut out = [b' '; 11];
    out[..upper.len()].copy_from_slice(upper.as_bytes());
    Ok(out)
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn boot_sector(
    img: &mut [u8],
    label: &[u8; 11],
    per_cluster: usize,
    fat_sectors: usize,
    total: usize,
) {
    let b = &mut img[..SECTOR];
    b[0..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
    b[3..11].copy_from_slice(b"HEARTH  ");
    put16(b, 11, SECTOR as u16);
    b[13] = per_cluster as u8;
    put16(b, 14, 1); // reserved sectors: the boot sector
    b[16] = 2; // FATs
    put16(b, 17, ROOT_ENTRIES as u16);
    if total < 65536 {
        put16(b, 19, total as u16);
    } else {
        put32(b, 32, total as u32);
    }
    b[21] = 0xF8; // media: fixed disk
    put16(b, 22, fat_sectors as u16);
    put16(b, 24, 32); // sectors per track
    put16(b, 26, 64); // heads
    b[36] = 0x80; // drive number
    b[38] = 0x29; // extended boot signature: serial, label and type follow
                  // A serial derived from the label and size, so the same content gives the same image.
    let serial = label
        .iter()
        .fold(total as u32, |s, &c| s.rotate_left(5) ^ c as u32);
    put32(b, 39, serial);
    b[43..54].copy_from_slice(label);
    b[54..62].copy_from_slice(b"FAT12   ");
    b[510] = 0x55;
    b[511] = 0xAA;
}

fn pack_fat12(fat: &[u16]) -> Vec<u8> {
    let mut out = vec![0u8; (fat.len() * 3).div_ceil(2)];
    for (i, &v) in fat.iter().enumerate() {
        let at = i * 3 / 2;
        if i % 2 == 0 {
            out[at] = (v & 0xFF) as u8;
            out[at + 1] = (out[at + 1] & 0xF0) | ((v >> 8) & 0x0F) as u8;
        } else {
            out[at] = (out[at] & 0x0F) | ((v & 0x0F) << 4) as u8;
            out[at + 1] = (v >> 4) as u8;
        }
    }
    out
}

/// The 8.3 alias: up to six upper-case characters of the name, `~n`, no extension.
fn short_name(name: &str, n: usize) -> [u8; 11] {
    let mut out = [b' '; 11];
    let base: Vec<u8> = name
        .bytes()
        .map(|b| b.to_ascii_uppercase())
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .take(6)
        .collect();
    let base = if base.is_empty() {
        b"FILE".to_vec()
    } else {
        base
    };
    out[..base.len()].copy_from_slice(&base);
    out[base.len()] = b'~';
    out[base.len() + 1] = b'0' + (n % 10) as u8;
    out
}

fn checksum(short: &[u8; 11]) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| (sum >> 1 | (sum & 1) << 7).wrapping_add(b))
}

/// A fixed timestamp (2026-01-01 00:00): the same content gives the same image.
const DOS_DATE: u16 = ((2026 - 1980) << 9) | (1 << 5) | 1;

fn label_entry(label: &[u8; 11]) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(label);
    e[11] = 0x08; // volume label
    put16(&mut e, 24, DOS_DATE);
    e
}

fn file_entry(short: &[u8; 11], cluster: u16, size: u32) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(short);
    e[11] = 0x20; // archive
    put16(&mut e, 16, DOS_DATE); // created
    put16(&mut e, 18, DOS_DATE); // accessed
    put16(&mut e, 24, DOS_DATE); // modified
    put16(&mut e, 26, cluster);
    put32(&mut e, 28, size);
    e
}

/// VFAT long-name entries for `name`, in the order they are stored (last part first).
fn lfn_entries(name: &str, short: &[u8; 11]) -> Vec<[u8; 32]> {
    let mut units: Vec<u16> = name.encode_utf16().collect();
    let parts = units.len().div_ceil(13);
    if !units.len().is_multiple_of(13) {
        units.push(0);
        while !units.len().is_multiple_of(13) {
            units.push(0xFFFF);
        }
    }
    let sum = checksum(short);
    let mut out = Vec::with_capacity(parts);
    for part in (0..parts).rev() {
        let chars = &units[part * 13..part * 13 + 13];
        let mut e = [0u8; 32];
        e[0] = (part + 1) as u8 | if part + 1 == parts { 0x40 } else { 0 };
        e[11] = 0x0F;
        e[13] = sum;
        let slots = (1..11)
            .step_by(2)
            .chain((14..26).step_by(2))
            .chain((28..32).step_by(2));
        for (slot, &c) in slots.zip(chars) {
            put16(&mut e, slot, c);
        }
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get16(b: &[u8], at: usize) -> usize {
        u16::from_le_bytes([b[at], b[at + 1]]) as usize
    }

    /// Reads the files back the way a FAT driver does: boot sector, root directory, long
    /// names, cluster chains.
    fn read_back(img: &[u8]) -> (String, Vec<(String, Vec<u8>)>) {
        let per_cluster = img[13] as usize;
        let fat_sectors = get16(img, 22);
        let root_at = (1 + 2 * fat_sectors) * SECTOR;
        let data_start = 1 + 2 * fat_sectors + get16(img, 17) * 32 / SECTOR;
        let fat = &img[SECTOR..SECTOR + fat_sectors * SECTOR];
        let entry = |c: usize| {
            let v = get16(fat, c * 3 / 2);
            if c.is_multiple_of(2) {
                v & 0xFFF
            } else {
                v >> 4
            }
        };
        let mut label = String::new();
        let mut files = Vec::new();
        let mut long: Vec<u16> = Vec::new();
        for i in 0..ROOT_ENTRIES {
            let e = &img[root_at + i * 32..root_at + (i + 1) * 32];
            match (e[0], e[11]) {
                (0, _) => break,
                (_, 0x0F) => {
                    let mut part = Vec::new();
                    for slot in (1..11)
                        .step_by(2)
                        .chain((14..26).step_by(2))
                        .chain((28..32).step_by(2))
                    {
                        part.push(get16(e, slot) as u16);
                    }
                    part.extend(long);
                    long = part;
                }
                (_, 0x08) => label = String::from_utf8_lossy(&e[..11]).trim_end().to_string(),
                _ => {
                    let name: String = String::from_utf16_lossy(
                        &long
                            .iter()
                            .copied()
                            .take_while(|&c| c != 0)
                            .collect::<Vec<_>>(),
                    );
                    long.clear();
                    let size = u32::from_le_bytes([e[28], e[29], e[30], e[31]]) as usize;
                    let mut data = Vec::new();
                    let mut c = get16(e, 26);
                    while size > 0 && (2..0xFF8).contains(&c) {
                        let at = (data_start + (c - 2) * per_cluster) * SECTOR;
                        data.extend_from_slice(&img[at..at + per_cluster * SECTOR]);
                        c = entry(c);
                    }
                    data.truncate(size);
                    files.push((name, data));
                }
            }
        }
        (label, files)
    }

    #[test]
    fn files_and_label_read_back() {
        let big: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let img = build(
            "cidata",
            &[
                ("meta-data", b"instance-id: i-1\n"),
                ("user-data", &big),
                ("network-config", b""),
                ("vendor-data", b"#cloud-config\n"),
            ],
        )
        .unwrap();
        assert_eq!(img.len() % SECTOR, 0);
        assert!(img.len() >= MIN_SECTORS * SECTOR);
        assert_eq!(&img[510..512], &[0x55, 0xAA]);
        assert_eq!(&img[54..62], b"FAT12   ");
        let (label, files) = read_back(&img);
        assert_eq!(label, "CIDATA");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["meta-data", "user-data", "network-config", "vendor-data"]
        );
        assert_eq!(files[0].1, b"instance-id: i-1\n");
        assert_eq!(files[1].1, big);
        assert!(files[2].1.is_empty());
    }

    #[test]
    fn fat12_packing() {
        let packed = pack_fat12(&[0xFF8, 0xFFF, 0x003, 0xFFF]);
        assert_eq!(packed, [0xF8, 0xFF, 0xFF, 0x03, 0xF0, 0xFF]);
    }

    #[test]
    fn rejects_what_it_cannot_write() {
        assert!(build("a label too long", &[]).is_err());
        assert!(build("cidata", &[("a/b", b"x")]).is_err());
        let many: Vec<(&str, &[u8])> = (0..10).map(|_| ("f", &b""[..])).collect();
        assert!(build("cidata", &many).is_err());
    }

    /// mtools, when installed, reads the volume as any FAT implementation would.
    #[test]
    fn mtools_reads_it() {
        if std::process::Command::new("mdir")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("mtools not installed: skipped");
            return;
        }
        let img = build(
            "cidata",
            &[
                ("meta-data", b"instance-id: i-1\n"),
                ("network-config", b"version: 2\n"),
            ],
        )
        .unwrap();
        let path = std::env::temp_dir().join(format!("{}.img", crate::ids::new_id("seed")));
        std::fs::write(&path, &img).unwrap();
        let out = std::process::Command::new("mdir")
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-i", path.to_str().unwrap(), "::"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let cat = std::process::Command::new("mtype")
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-i", path.to_str().unwrap(), "::network-config"])
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("CIDATA"), "{text}");
        assert!(
            text.contains("meta-data") && text.contains("network-config"),
            "{text}"
        );
        assert_eq!(cat.stdout, b"version: 2\n");
    }
}
