//! Assembling a microVM from its config: KVM objects, guest memory with the kernel in it, the
//! devices and their interrupts, the vCPUs. Everything that can fail fails here, before any guest
//! code runs, and whatever was created on the host (console log, control socket) is removed again.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kvm_bindings::{kvm_pit_config, kvm_userspace_memory_region, KVM_PIT_SPEAKER_DUMMY};
use kvm_ioctls::{IoEventAddress, Kvm, VcpuFd, VmFd};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryRegion};
use vmm_sys_util::eventfd::EventFd;

use crate::boot::{self, EntryMode};
use crate::config::{parse_mac, VmConfig};
use crate::devices::bus::Bus;
use crate::devices::i8042::{ResetRequest, I8042};
use crate::devices::rate_limit::RateLimiter;
use crate::devices::serial::{ConsoleOutput, SerialPort};
use crate::devices::virtio::block::Block;
use crate::devices::virtio::mmio::{MmioSlot, MmioTransport, REG_QUEUE_NOTIFY};
use crate::devices::virtio::net::Net;
use crate::devices::virtio::rng::Rng;
use crate::devices::virtio::tap::Tap;
use crate::devices::virtio::VirtioDevice;
use crate::devices::IrqLine;
use crate::layout;
use crate::memory::{self, GuestMemory};
use crate::state::Shared;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open /dev/kvm: {0} (is KVM available and are you allowed to use it?)")]
    OpenKvm(kvm_ioctls::Error),
    #[error("KVM: {what}: {err}")]
    Kvm {
        what: String,
        err: kvm_ioctls::Error,
    },
    #[error("guest memory: {0}")]
    Memory(String),
    #[error(transparent)]
    Boot(#[from] boot::BootError),
    #[error(transparent)]
    Vcpu(#[from] crate::vcpu::VcpuSetupError),
    #[error("{0}")]
    Device(String),
    #[error("{what} {path}: {err}")]
    HostFile {
        what: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
}

fn kvm_err(what: impl Into<String>) -> impl FnOnce(kvm_ioctls::Error) -> BuildError {
    let what = what.into();
    move |err| BuildError::Kvm { what, err }
}

/// One virtio-mmio device with the eventfds KVM signals when the guest kicks its queues.
pub struct VirtioSlot {
    pub transport: Arc<Mutex<MmioTransport>>,
    pub queue_evts: Vec<EventFd>,
}

/// Files this VMM created on the host, removed if building fails or when the VMM ends.
#[derive(Default)]
pub struct HostFiles {
    paths: Vec<PathBuf>,
}

impl HostFiles {
    pub fn remove_all(&mut self) {
        for p in self.paths.drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }

    /// The files stay (the VMM is running now); `Vmm` removes the socket at exit itself.
    fn keep(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.paths)
    }
}

impl Drop for HostFiles {
    fn drop(&mut self) {
        self.remove_all();
    }
}

pub struct Vmm {
    /// Kept open for the life of the VM: closing it would destroy the guest.
    pub(crate) _vm: VmFd,
    pub(crate) mem: GuestMemory,
    pub(crate) vcpus: Vec<VcpuFd>,
    pub(crate) pio: Arc<Bus>,
    pub(crate) mmio: Arc<Bus>,
    pub(crate) serial: Arc<Mutex<SerialPort>>,
    pub(crate) i8042: Arc<Mutex<I8042>>,
    pub(crate) reset_evt: EventFd,
    pub(crate) virtio: Vec<VirtioSlot>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) control: Option<(UnixListener, PathBuf)>,
    pub(crate) entry_mode: EntryMode,
    /// Echo the console to stdout and feed stdin to the serial port.
    pub attach: bool,
    /// Print when the first KVM_RUN happens (scripts/bench-vmm).
    pub report_first_run: bool,
    pub(crate) handle_signals: bool,
}

pub struct BuildOptions {
    /// Echo the console to stdout and feed stdin to the guest's serial port.
    pub attach: bool,
    /// Print build step timings and when the first KVM_RUN happens (scripts/bench-vmm).
    pub report_first_run: bool,
    /// End the VM cleanly on SIGTERM/SIGINT/SIGHUP (exit code 5). For a process that runs one
    /// VMM (`hearth vmm`); not for tests sharing a process.
    pub handle_signals: bool,
}

/// Prints how long each build step took, for scripts/bench-vmm (when `report_first_run`).
struct Timeline {
    on: bool,
    last: std::time::Instant,
}

impl Timeline {
    fn mark(&mut self, step: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "hearth-vmm: build step {step}: {:.3} ms",
                (now - self.last).as_secs_f64() * 1e3
            );
            self.last = now;
        }
    }
}

impl Vmm {
    pub fn build(config: &VmConfig, options: BuildOptions) -> Result<Vmm, BuildError> {
        let mut timeline = Timeline {
            on: options.report_first_run,
            last: std::time::Instant::now(),
        };
        config.validate()?;
        timeline.mark("validate config");
        let mut created = HostFiles::default();
        let mem = memory::create(config.memory_mib).map_err(BuildError::Memory)?;
        timeline.mark("map guest memory");
        let kvm = Kvm::new().map_err(BuildError::OpenKvm)?;
        let vm = kvm.create_vm().map_err(kvm_err("creating the VM"))?;
        vm.set_tss_address(layout::KVM_TSS_ADDR as usize)
            .map_err(kvm_err("setting the TSS address"))?;
        // Guest RAM is registered before the irqchip and PIT exist: measured on this kind of host
        // (kernel 6.18), the same slot takes ~0.4 ms on a VM without them and 5-7 ms once the
        // in-kernel irqchip exists (why was not traced).
        register_memory(&vm, &mem)?;
        vm.create_irq_chip()
            .map_err(kvm_err("creating the in-kernel irqchip"))?;
        let pit = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        vm.create_pit2(pit)
            .map_err(kvm_err("creating the in-kernel PIT"))?;
        timeline.mark("open KVM, create VM, register memory, irqchip, PIT");

        let kernel = boot::load_kernel(&mem, &config.kernel)?;
        let initrd_limit = kernel
            .setup_header
            .map_or(layout::MMIO_GAP_START - 1, |h| u64::from(h.initrd_addr_max));
        let initrd = match &config.initrd {
            Some(path) => Some(boot::load_initrd(&mem, path, kernel.end, initrd_limit)?),
            None => None,
        };
        let virtio_count = config.virtio_device_count();
        if virtio_count > layout::MAX_VIRTIO_DEVICES {
            return Err(BuildError::Device(format!(
                "{virtio_count} virtio devices; at most {} fit the I/O APIC",
                layout::MAX_VIRTIO_DEVICES
            )));
        }
        let cmdline = boot::cmdline::build(&config.cmdline, virtio_count)?;
        let cmdline_len = cmdline
            .as_cstring()
            .map_err(|e| boot::BootError::Cmdline(e.to_string()))?
            .as_bytes_with_nul()
            .len();
        linux_loader::loader::load_cmdline(&mem, GuestAddress(layout::CMDLINE), &cmdline)
            .map_err(|e| boot::BootError::Cmdline(e.to_string()))?;
        let e820 = memory::e820_map(config.memory_mib * memory::MIB);
        match kernel.mode {
            EntryMode::Pvh => boot::pvh::write(&mem, &e820, initrd)?,
            EntryMode::Linux64 => {
                let page = boot::linux::build(kernel.setup_header, cmdline_len, &e820, initrd)?;
                boot::linux::write(&mem, &page)?;
            }
        }
        boot::mptable::write(&mem, config.vcpus)?;
        crate::vcpu::regs::write_boot_tables(&mem, kernel.mode)?;
        timeline.mark("load kernel, write boot structures");

        // Devices. Virtio first: TAPs and disk images are the likeliest to be refused.
        let mut mmio = Bus::default();
        let mut virtio = Vec::new();
        let mut devices: Vec<(String, Box<dyn VirtioDevice>)> = Vec::new();
        for disk in &config.disks {
            let limit = disk.rate_limit.unwrap_or_default();
            let block = Block::open(&disk.path, disk.read_only, &disk.id)
                .and_then(|b| {
                    b.with_rate_limit(RateLimiter::per_second(
                        limit.iops,
                        limit.bytes_per_sec,
                        Instant::now(),
                    ))
                })
                .map_err(BuildError::Device)?;
            devices.push((format!("disk {}", disk.id), Box::new(block)));
        }
        for nic in &config.nics {
            let tap = Tap::open(&nic.tap).map_err(BuildError::Device)?;
            let mac = parse_mac(&nic.mac)
                .ok_or_else(|| BuildError::Device(format!("bad MAC {:?}", nic.mac)))?;
            let limit = nic.rate_limit.unwrap_or_default();
            let per_sec = |bytes| RateLimiter::per_second(None, bytes, Instant::now());
            let net = Net::new(tap, mac)
                .with_rate_limit(
                    per_sec(limit.rx_bytes_per_sec),
                    per_sec(limit.tx_bytes_per_sec),
                )
                .map_err(BuildError::Device)?;
            devices.push((format!("nic {}", nic.tap), Box::new(net)));
        }
        if config.rng {
            devices.push(("rng".to_string(), Box::new(Rng::new())));
        }
        for (index, (name, device)) in devices.into_iter().enumerate() {
            let (base, gsi) = layout::virtio_slot(index);
            let irq =
                IrqLine::new().map_err(|e| BuildError::Device(format!("{name}: eventfd: {e}")))?;
            vm.register_irqfd(&irq.0, gsi)
                .map_err(kvm_err(format!("{name}: registering its interrupt")))?;
            let transport = MmioTransport::new(name.clone(), device, mem.clone(), irq)
                .map_err(BuildError::Device)?;
            let mut queue_evts = Vec::new();
            for q in 0..transport.queue_count() {
                let evt = EventFd::new(libc::EFD_NONBLOCK)
                    .map_err(|e| BuildError::Device(format!("{name}: eventfd: {e}")))?;
                vm.register_ioevent(
                    &evt,
                    &IoEventAddress::Mmio(base + REG_QUEUE_NOTIFY),
                    q as u32,
                )
                .map_err(kvm_err(format!(
                    "{name}: registering queue {q}'s notification"
                )))?;
                queue_evts.push(evt);
            }
            let transport = Arc::new(Mutex::new(transport));
            let slot = Arc::new(Mutex::new(MmioSlot::new(transport.clone())));
            mmio.insert(base, layout::VIRTIO_MMIO_SIZE, slot)
                .map_err(BuildError::Device)?;
            virtio.push(VirtioSlot {
                transport,
                queue_evts,
            });
        }

        timeline.mark("virtio devices");
        let shared = Shared::new().map_err(|e| BuildError::Device(format!("eventfd: {e}")))?;
        let mut pio = Bus::default();
        let kbd_irq = IrqLine::new().map_err(|e| BuildError::Device(format!("eventfd: {e}")))?;
        vm.register_irqfd(&kbd_irq.0, layout::KEYBOARD_IRQ)
            .map_err(kvm_err("registering the keyboard interrupt"))?;
        let reset_evt = EventFd::new(libc::EFD_NONBLOCK)
            .map_err(|e| BuildError::Device(format!("eventfd: {e}")))?;
        let reset_clone = reset_evt
            .try_clone()
            .map_err(|e| BuildError::Device(format!("eventfd: {e}")))?;
        let i8042 = Arc::new(Mutex::new(I8042::new(kbd_irq, ResetRequest(reset_clone))));
        // The i8042 decodes 0x60 and 0x64 only; the bus range covers both (offsets 0 and 4).
        pio.insert(u64::from(layout::I8042_DATA_PORT), 5, i8042.clone())
            .map_err(BuildError::Device)?;

        let supported_cpuid = crate::vcpu::cpuid::supported(&kvm)
            .map_err(kvm_err("reading KVM's supported CPUID".to_string()))?;
        let vcpus = (0..config.vcpus)
            .map(|i| {
                let fd = vm
                    .create_vcpu(u64::from(i))
                    .map_err(kvm_err(format!("creating vCPU {i}")))?;
                let boot = (i == 0).then_some((kernel.mode, kernel.entry.0));
                crate::vcpu::configure(&supported_cpuid, &fd, i, config.vcpus, boot)?;
                Ok(fd)
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        timeline.mark("create and configure vCPUs");

        // Host files last, so a failure above leaves nothing behind.
        let console = match &config.console_log {
            Some(path) => {
                if !path.exists() {
                    created.paths.push(path.clone());
                }
                Some(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|err| BuildError::HostFile {
                            what: "cannot open the console log",
                            path: path.clone(),
                            err,
                        })?,
                )
            }
            None => None,
        };
        let serial_irq = IrqLine::new().map_err(|e| BuildError::Device(format!("eventfd: {e}")))?;
        vm.register_irqfd(&serial_irq.0, layout::SERIAL_IRQ)
            .map_err(kvm_err("registering the serial interrupt"))?;
        let out = ConsoleOutput::new(console, options.attach, shared.guest_said.clone());
        let serial = Arc::new(Mutex::new(SerialPort::new(serial_irq, out)));
        pio.insert(u64::from(layout::SERIAL_PORT), 8, serial.clone())
            .map_err(BuildError::Device)?;
        let control = match &config.control_socket {
            Some(path) => {
                let listener = UnixListener::bind(path).map_err(|err| BuildError::HostFile {
                    what: "cannot create the control socket",
                    path: path.clone(),
                    err,
                })?;
                created.paths.push(path.clone());
                listener
                    .set_nonblocking(true)
                    .map_err(|err| BuildError::HostFile {
                        what: "control socket",
                        path: path.clone(),
                        err,
                    })?;
                Some((listener, path.clone()))
            }
            None => None,
        };
        timeline.mark("serial, console log, control socket");
        created.keep();

        Ok(Vmm {
            _vm: vm,
            mem,
            vcpus,
            pio: Arc::new(pio),
            mmio: Arc::new(mmio),
            serial,
            i8042,
            reset_evt,
            virtio,
            shared,
            control,
            entry_mode: kernel.mode,
            attach: options.attach,
            report_first_run: options.report_first_run,
            handle_signals: options.handle_signals,
        })
    }

    pub fn entry_mode(&self) -> EntryMode {
        self.entry_mode
    }

    pub fn guest_memory(&self) -> &GuestMemory {
        &self.mem
    }

    /// Writes guest memory before the VM runs (tests place code this way).
    pub fn write_guest(&self, addr: u64, bytes: &[u8]) -> Result<(), String> {
        self.mem
            .write_slice(bytes, GuestAddress(addr))
            .map_err(|e| e.to_string())
    }
}

/// Registers guest RAM with KVM, one slot per region.
fn register_memory(vm: &VmFd, mem: &GuestMemory) -> Result<(), BuildError> {
    for (slot, region) in mem.iter().enumerate() {
        let host = mem
            .get_host_address(region.start_addr())
            .map_err(|e| BuildError::Memory(e.to_string()))?;
        let region = kvm_userspace_memory_region {
            slot: slot as u32,
            guest_phys_addr: region.start_addr().0,
            memory_size: region.len(),
            userspace_addr: host as u64,
            flags: 0,
        };
        // SAFETY: the mapping belongs to the guest memory the Vmm keeps alive as long as the VM
        // (a failed build drops the VM before the memory).
        unsafe { vm.set_user_memory_region(region) }.map_err(kvm_err(format!(
            "registering guest memory slot {}",
            region.slot
        )))?;
    }
    Ok(())
}
