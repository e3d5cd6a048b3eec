//! Runs real (tiny) guests on this host's /dev/kvm: a few instructions that write to the serial
//! port and reset the machine through the i8042, loaded through the same ELF paths a kernel takes
//! (64-bit Linux entry, and PVH). Skipped where /dev/kvm cannot be opened.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_vmm::boot::EntryMode;
use hearth_vmm::config::{DiskRateLimit, VmConfig};
use hearth_vmm::{BuildOptions, ExitKind, Vmm};

const LOAD_ADDR: u64 = 0x10_0000;

/// mov dx,0x3f8; (mov al,c; out dx,al)* ... The same bytes decode alike in 32- and 64-bit mode.
fn print(text: &str) -> Vec<u8> {
    let mut code = vec![0x66, 0xba, 0xf8, 0x03];
    for b in text.bytes() {
        code.extend_from_slice(&[0xb0, b, 0xee]);
    }
    code
}

/// mov al,0xfe; out 0x64,al (pulse the reset line); then halt forever.
const RESET_AND_HALT: [u8; 7] = [0xb0, 0xfe, 0xe6, 0x64, 0xfa, 0xf4, 0xeb];
const HALT_FOREVER: [u8; 4] = [0xfa, 0xf4, 0xeb, 0xfc];

/// A minimal ELF64 executable: one PT_LOAD of `code` at 1 MiB, optionally a Xen PVH note.
fn elf(code: &[u8], pvh: bool) -> Vec<u8> {
    let phnum: u16 = if pvh { 2 } else { 1 };
    let code_off = 0x1000u64;
    let note_off = 0x800u64;
    let mut f = vec![0u8; code_off as usize];
    f[..16].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut put = |off: usize, bytes: &[u8]| f[off..off + bytes.len()].copy_from_slice(bytes);
    put(16, &2u16.to_le_bytes()); // ET_EXEC
    put(18, &0x3eu16.to_le_bytes()); // x86-64
    put(20, &1u32.to_le_bytes());
    put(24, &LOAD_ADDR.to_le_bytes()); // entry
    put(32, &64u64.to_le_bytes()); // phoff
    put(52, &64u16.to_le_bytes());
    put(54, &56u16.to_le_bytes());
    put(56, &phnum.to_le_bytes());
    put(58, &64u16.to_le_bytes());
    let phdr = |typ: u32, flags: u32, off: u64, addr: u64, size: u64, align: u64| {
        let mut p = Vec::with_capacity(56);
        p.extend_from_slice(&typ.to_le_bytes());
        p.extend_from_slice(&flags.to_le_bytes());
        for v in [off, addr, addr, size, size, align] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        p
    };
    put(
        64,
        &phdr(1, 5, code_off, LOAD_ADDR, code.len() as u64, 0x1000),
    );
    if pvh {
        let mut note = Vec::new();
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&18u32.to_le_bytes()); // XEN_ELFNOTE_PHYS32_ENTRY
        note.extend_from_slice(b"Xen\0");
        note.extend_from_slice(&(LOAD_ADDR as u32).to_le_bytes());
        put(120, &phdr(4, 4, note_off, 0, note.len() as u64, 4));
        put(note_off as usize, &note);
    }
    f.extend_from_slice(code);
    f
}

fn kvm_usable() -> bool {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        eprintln!("skipped: /dev/kvm cannot be opened here");
        return false;
    }
    true
}

struct Guest {
    _dir: tempfile::TempDir,
    config: VmConfig,
    log: PathBuf,
    socket: PathBuf,
}

fn guest(code: Vec<u8>, pvh: bool, vcpus: u8) -> Guest {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("payload.elf");
    std::fs::write(&kernel, elf(&code, pvh)).unwrap();
    let log = dir.path().join("console.log");
    let socket = dir.path().join("control.sock");
    let disk = dir.path().join("data.img");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let text = serde_json::json!({
        "vcpus": vcpus,
        "memory_mib": 64,
        "kernel": kernel,
        "disks": [{"path": disk, "id": "data"}],
        "console_log": log,
        "control_socket": socket,
    })
    .to_string();
    Guest {
        config: VmConfig::parse(&text).unwrap(),
        _dir: dir,
        log,
        socket,
    }
}

fn options() -> BuildOptions {
    BuildOptions {
        attach: false,
        report_first_run: false,
        handle_signals: false,
    }
}

fn console(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn long_mode_entry_prints_and_resets() {
    if !kvm_usable() {
        return;
    }
    let mut code = print("OK64\n");
    code.extend_from_slice(&RESET_AND_HALT);
    let g = guest(code, false, 1);
    let vmm = Vmm::build(&g.config, options()).unwrap();
    assert_eq!(vmm.entry_mode(), EntryMode::Linux64);
    let exit = vmm.run();
    assert_eq!(console(&g.log), "OK64\n");
    assert_eq!(exit.kind, ExitKind::Reboot, "{exit:?}");
    assert_eq!(exit.code(), 3);
    assert!(!g.socket.exists(), "the control socket is removed at exit");
}

#[test]
fn pvh_entry_with_two_vcpus_prints_and_resets() {
    if !kvm_usable() {
        return;
    }
    let mut code = print("PVH\n");
    code.extend_from_slice(&RESET_AND_HALT);
    let g = guest(code, true, 2);
    let vmm = Vmm::build(&g.config, options()).unwrap();
    assert_eq!(vmm.entry_mode(), EntryMode::Pvh);
    let exit = vmm.run();
    assert_eq!(console(&g.log), "PVH\n");
    assert_eq!(exit.kind, ExitKind::Reboot, "{exit:?}");
}

fn ask(
    stream: &mut UnixStream,
    reader: &mut BufReader<UnixStream>,
    cmd: &str,
) -> serde_json::Value {
    writeln!(stream, "{{\"command\":\"{cmd}\"}}").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap()
}

#[test]
fn control_socket_status_pause_resume_shutdown_stop() {
    if !kvm_usable() {
        return;
    }
    let mut code = print("READY\n");
    code.extend_from_slice(&HALT_FOREVER);
    let g = guest(code, false, 2);
    let vmm = Vmm::build(&g.config, options()).unwrap();
    let runner = std::thread::spawn(move || vmm.run());
    let mut waited = 0;
    while !console(&g.log).contains("READY") && waited < 600 {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    assert_eq!(console(&g.log), "READY\n");
    let mut s = UnixStream::connect(&g.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(ask(&mut s, &mut r, "status")["state"], "running");
    let paused = ask(&mut s, &mut r, "pause");
    assert_eq!(paused["state"], "paused", "{paused}");
    assert_eq!(ask(&mut s, &mut r, "resume")["state"], "running");
    // This guest ignores Ctrl-Alt-Del; the request is still accepted and the keys delivered.
    assert_eq!(ask(&mut s, &mut r, "shutdown")["sent"], "ctrl-alt-del");
    let bad: serde_json::Value = {
        writeln!(s, "{{\"command\":\"explode\"}}").unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(bad["ok"], false);
    assert_eq!(ask(&mut s, &mut r, "stop")["exit_code"], 5);
    let exit = runner.join().unwrap();
    assert_eq!(exit.kind, ExitKind::Stopped);
    assert!(!g.socket.exists());
}

#[test]
fn missing_tap_fails_before_start_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("payload.elf");
    std::fs::write(&kernel, elf(&HALT_FOREVER, false)).unwrap();
    let log = dir.path().join("console.log");
    let socket = dir.path().join("control.sock");
    let text = serde_json::json!({
        "vcpus": 1, "memory_mib": 32, "kernel": kernel,
        "nics": [{"tap": "hearthnotap2", "mac": "52:54:00:00:00:02"}],
        "console_log": log, "control_socket": socket,
    })
    .to_string();
    let err = VmConfig::parse(&text).unwrap_err().to_string();
    assert!(err.contains("hearthnotap2"), "{err}");
    assert!(!log.exists() && !socket.exists());
}

#[test]
fn garbage_kernel_is_named() {
    if !kvm_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("notakernel");
    std::fs::write(&kernel, vec![0x5au8; 8192]).unwrap();
    let log = dir.path().join("console.log");
    let text = serde_json::json!({
        "vcpus": 1, "memory_mib": 32, "kernel": kernel, "console_log": log,
    })
    .to_string();
    let config = VmConfig::parse(&text).unwrap();
    let err = Vmm::build(&config, options()).err().unwrap().to_string();
    assert!(
        err.contains("notakernel") && err.contains("neither an ELF"),
        "{err}"
    );
    assert!(!log.exists(), "no console log is left behind");
}

#[test]
fn exit_codes_follow_what_the_kernel_said_before_resetting() {
    if !kvm_usable() {
        return;
    }
    // (what the kernel prints, then reset or halt with interrupts off, what the VMM concludes)
    for (said, then, kind, code) in [
        (
            "[ 1.0] reboot: Power down\n",
            &HALT_FOREVER[..],
            ExitKind::Shutdown,
            0,
        ),
        (
            "[ 1.0] reboot: System halted\n",
            &HALT_FOREVER[..],
            ExitKind::Shutdown,
            0,
        ),
        // The words alone do not power off: a reset after them is a reboot.
        (
            "[ 1.0] reboot: Power down\n",
            &RESET_AND_HALT[..],
            ExitKind::Reboot,
            3,
        ),
        (
            "Kernel panic - not syncing: VFS\n",
            &RESET_AND_HALT[..],
            ExitKind::Crash,
            4,
        ),
        (
            "[ 1.0] reboot: Restarting system\n",
            &RESET_AND_HALT[..],
            ExitKind::Reboot,
            3,
        ),
    ] {
        let mut payload = print(said);
        payload.extend_from_slice(then);
        let g = guest(payload, false, 1);
        let exit = Vmm::build(&g.config, options()).unwrap().run();
        assert_eq!((exit.kind, exit.code()), (kind, code), "{said:?}: {exit:?}");
    }
}

#[test]
fn a_waiting_control_client_hears_why_the_vm_ended() {
    if !kvm_usable() {
        return;
    }
    // The guest halts; the test ends it through a second connection once `wait` is registered.
    let mut code = print("UP\n");
    code.extend_from_slice(&HALT_FOREVER);
    let g = guest(code, false, 1);
    let vmm = Vmm::build(&g.config, options()).unwrap();
    let runner = std::thread::spawn(move || vmm.run());
    let mut waiter = UnixStream::connect(&g.socket).unwrap();
    waiter
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    writeln!(waiter, "{{\"command\":\"wait\"}}").unwrap();
    let mut s = UnixStream::connect(&g.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    // `status` on the second connection is answered after the first sent `wait`, so it is registered.
    assert_eq!(ask(&mut s, &mut r, "status")["state"], "running");
    assert_eq!(ask(&mut s, &mut r, "stop")["exit_code"], 5);
    let mut line = String::new();
    BufReader::new(waiter).read_line(&mut line).unwrap();
    let last: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(last["state"], "exited", "{last}");
    assert_eq!(last["exit_code"], 5);
    assert!(last["reason"].as_str().unwrap().contains("control socket"));
    assert_eq!(runner.join().unwrap().kind, ExitKind::Stopped);
}

const MMIO: u32 = 0xd000_0000;
const DESC: u64 = 0x20_0000;
const AVAIL: u64 = 0x20_1000;
const USED: u64 = 0x20_2000;
const HDR: u64 = 0x20_3000;
const DATA: u64 = 0x20_4000;
const STATUS: u64 = 0x20_5000;

/// Guest code: initialise the virtio-mmio device in slot 0 with queue 0 of 4 entries over the
/// rings at DESC/AVAIL/USED, then kick queue 0.
fn virtio_bring_up_and_kick() -> Vec<u8> {
    let mut code = Vec::new();
    for (reg, value) in [
        (0x070, 1 | 2),     // ACKNOWLEDGE | DRIVER
        (0x024, 1),         // driver features, high word
        (0x020, 1),         // VIRTIO_F_VERSION_1
        (0x070, 1 | 2 | 8), // FEATURES_OK
        (0x030, 0),         // queue 0
        (0x038, 4),         // 4 entries
        (0x080, DESC as u32),
        (0x090, AVAIL as u32),
        (0x0a0, USED as u32),
        (0x044, 1),             // ready
        (0x070, 1 | 2 | 4 | 8), // DRIVER_OK
        (0x050, 0),             // kick queue 0
    ] {
        code.extend(store32(MMIO + reg, value));
    }
    code
}

fn descriptor(addr: u64, len: u32, flags: u16, next: u16) -> Vec<u8> {
    let mut d = addr.to_le_bytes().to_vec();
    d.extend_from_slice(&len.to_le_bytes());
    d.extend_from_slice(&flags.to_le_bytes());
    d.extend_from_slice(&next.to_le_bytes());
    d
}

/// mov dword [addr], value (32-bit protected mode, flat segments).
fn store32(addr: u32, value: u32) -> Vec<u8> {
    let mut c = vec![0xc7, 0x05];
    c.extend_from_slice(&addr.to_le_bytes());
    c.extend_from_slice(&value.to_le_bytes());
    c
}

#[test]
fn a_guest_driver_writes_a_sector_through_virtio_blk() {
    if !kvm_usable() {
        return;
    }
    // The guest plays a minimal virtio-mmio driver for the disk in slot 0: set up queue 0 over
    // rings the test placed in guest memory, kick it (ioeventfd -> device thread), spin on the
    // used index, then report and reset. PVH entry: 32-bit, no paging, so 0xd000_0000 is reachable.
    let mut code = virtio_bring_up_and_kick();
    // spin: cmp word [USED + 2], 1; jne spin
    code.extend_from_slice(&[0x66, 0x83, 0x3d]);
    code.extend_from_slice(&((USED + 2) as u32).to_le_bytes());
    code.extend_from_slice(&[0x01, 0x75, 0xf6]);
    code.extend(print("DONE\n"));
    code.extend_from_slice(&RESET_AND_HALT);

    let mut g = guest(code, true, 1);
    g.config.rng = false;
    let disk = g.config.disks[0].path.clone();
    let vmm = Vmm::build(&g.config, options()).unwrap();
    let mut table = descriptor(HDR, 16, 1, 1);
    table.extend(descriptor(DATA, 512, 1, 2));
    table.extend(descriptor(STATUS, 1, 2, 0));
    vmm.write_guest(DESC, &table).unwrap();
    vmm.write_guest(AVAIL, &[0, 0, 1, 0, 0, 0]).unwrap(); // flags, idx = 1, ring[0] = 0
    let mut header = 1u32.to_le_bytes().to_vec(); // VIRTIO_BLK_T_OUT
    header.extend_from_slice(&[0; 4]);
    header.extend_from_slice(&1u64.to_le_bytes()); // sector 1
    vmm.write_guest(HDR, &header).unwrap();
    vmm.write_guest(DATA, &[0x5a; 512]).unwrap();
    vmm.write_guest(STATUS, &[0xff]).unwrap();

    let exit = vmm.run();
    assert_eq!(console(&g.log), "DONE\n", "{exit:?}");
    assert_eq!(exit.kind, ExitKind::Reboot);
    let on_host = std::fs::read(&disk).unwrap();
    assert!(on_host[512..1024].iter().all(|b| *b == 0x5a));
    assert!(on_host[..512].iter().all(|b| *b == 0));
}

#[test]
fn a_rate_limited_disk_serves_every_request_through_its_timer() {
    if !kvm_usable() {
        return;
    }
    // Two flushes made available at once to a disk allowed 10 operations a second (a bucket of
    // one): the second is served only when the device thread's timer fires. The guest spins
    // until both are used, so a timer that never reached the event loop would hang here.
    let mut code = virtio_bring_up_and_kick();
    // spin: cmp word [USED + 2], 2; jne spin
    code.extend_from_slice(&[0x66, 0x83, 0x3d]);
    code.extend_from_slice(&((USED + 2) as u32).to_le_bytes());
    code.extend_from_slice(&[0x02, 0x75, 0xf6]);
    code.extend(print("DONE\n"));
    code.extend_from_slice(&RESET_AND_HALT);

    let mut g = guest(code, true, 1);
    g.config.rng = false;
    g.config.disks[0].rate_limit = Some(DiskRateLimit {
        iops: Some(10),
        bytes_per_sec: None,
    });
    let vmm = Vmm::build(&g.config, options()).unwrap();
    let second = HDR + 0x100;
    let mut table = descriptor(HDR, 16, 1, 1);
    table.extend(descriptor(STATUS, 1, 2, 0));
    table.extend(descriptor(second, 16, 1, 3));
    table.extend(descriptor(STATUS + 1, 1, 2, 0));
    vmm.write_guest(DESC, &table).unwrap();
    vmm.write_guest(AVAIL, &[0, 0, 2, 0, 0, 0, 2, 0]).unwrap(); // idx = 2, ring = [0, 2]
    let flush = 4u32.to_le_bytes(); // VIRTIO_BLK_T_FLUSH, the rest of the header zero
    vmm.write_guest(HDR, &flush).unwrap();
    vmm.write_guest(second, &flush).unwrap();
    vmm.write_guest(STATUS, &[0xff, 0xff]).unwrap();

    let exit = vmm.run();
    assert_eq!(console(&g.log), "DONE\n", "{exit:?}");
    assert_eq!(exit.kind, ExitKind::Reboot);
}

#[test]
fn a_guest_with_a_looping_descriptor_chain_fails_the_device_not_the_vmm() {
    if !kvm_usable() {
        return;
    }
    // Same driver, but descriptor 0 links to itself. The device must set DEVICE_NEEDS_RESET
    // (0x40 in the status register), which the guest waits to see before reporting.
    let mut code = virtio_bring_up_and_kick();
    // spin: test dword [MMIO + 0x70], 0x40; jz spin
    code.extend_from_slice(&[0xf7, 0x05]);
    code.extend_from_slice(&(MMIO + 0x70).to_le_bytes());
    code.extend_from_slice(&0x40u32.to_le_bytes());
    code.extend_from_slice(&[0x74, 0xf4]);
    code.extend(print("NEEDS RESET\n"));
    code.extend_from_slice(&RESET_AND_HALT);
    let mut g = guest(code, true, 1);
    g.config.rng = false;
    let vmm = Vmm::build(&g.config, options()).unwrap();
    vmm.write_guest(DESC, &descriptor(HDR, 16, 1, 0)).unwrap();
    vmm.write_guest(AVAIL, &[0, 0, 1, 0, 0, 0]).unwrap();
    let exit = vmm.run();
    assert_eq!(console(&g.log), "NEEDS RESET\n", "{exit:?}");
    assert_eq!(exit.kind, ExitKind::Reboot);
}
