#!/bin/sh
# Runs inside the test host: boots the tiny image on hearth's own VMM (2 vCPUs,
# 512 MiB, a data disk, a NIC on a TAP) three times and prints what the host
# side saw, as "E2E-HOST key=value" lines, followed by each guest console.
#   1. first boot: the seed's user-data reports CPUs, memory, disks, pings the
#      TAP, writes to the data disk and reboots; `vmm-ctl wait` reports it.
#   2. second boot: `vmm-ctl status`, pause/resume, then `vmm-ctl shutdown`
#      (Ctrl-Alt-Del) ends it as a shutdown.
#   3. third boot, from the same kernel as a bzImage (the Linux boot protocol
#      instead of PVH): init=/bin/sh runs `poweroff -f`: the VMM ends with exit 0.
# Usage: vmm-e2e.sh SEED_IMG BZIMAGE
set -u
seed="$1" bzimage="$2" work=/tmp/e2e
mkdir -p "$work"
cp "$HEARTH_TEST_IMAGES/tiny-x64.raw" "$work/root.raw"
truncate -s 192M "$work/root.raw"
truncate -s 80M "$work/data.raw"
/usr/sbin/ip tuntap add dev tap0 mode tap vnet_hdr
/usr/sbin/ip addr add 192.168.77.1/24 dev tap0
/usr/sbin/ip link set tap0 up

config() { # config CMDLINE_EXTRA [KERNEL]
    cat >"$work/vm.json" <<JSON
{"vcpus": 2, "memory_mib": 512, "kernel": "${2:-$HEARTH_TEST_KERNEL}",
 "cmdline": "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw $1",
 "disks": [{"path": "$work/root.raw", "id": "root"},
           {"path": "$work/data.raw", "id": "data-disk-1"},
           {"path": "$seed", "id": "seed", "read_only": true}],
 "nics": [{"tap": "tap0", "mac": "52:54:00:12:34:56"}],
 "console_log": "$work/console.log", "control_socket": "$work/ctl.sock"}
JSON
    : >"$work/console.log"
}
start_vmm() {
    hearth vmm --config "$work/vm.json" 2>"$work/vmm.err" &
    vmm=$!
    i=0; while [ ! -S "$work/ctl.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
wait_console() { # wait_console TEXT SECS
    i=0; while ! grep -q "$1" "$work/console.log" && [ $i -lt "$2" ]; do sleep 1; i=$((i + 1)); done
    grep -q "$1" "$work/console.log" || diagnose "no \"$1\" on the console after $2 s"
}
diagnose() { # diagnose WHY: where the VMM's threads are, on stderr, when a step went wrong
    {
        echo "E2E-DIAG $1"
        for t in /proc/"$vmm"/task/*; do
            echo "E2E-DIAG thread $(cat "$t/comm") state=$(cut -d' ' -f3 "$t/stat") wchan=$(cat "$t/wchan") syscall=$(cut -d' ' -f1 "$t/syscall")"
            sed 's/^/E2E-DIAG   /' "$t/stack"
        done
        echo "E2E-DIAG console tail:"; tail -c 1500 "$work/console.log" | tr -d '\r'
        echo "E2E-DIAG kernel log tail:"; dmesg | tail -n 20
    } >&2 2>/dev/null
}
ctl() { # ctl COMMAND: the VMM's one-line answer; a VMM that gives none is diagnosed
    answer=$(hearth vmm-ctl --socket "$work/ctl.sock" "$1")
    [ -n "$answer" ] || diagnose "vmm-ctl $1 got no answer"
    echo "$answer"
}
finish() { # finish NAME
    # A guest that never ends is stopped, so its console still gets shown.
    i=0; while kill -0 "$vmm" 2>/dev/null && [ $i -lt 300 ]; do sleep 1; i=$((i + 1)); done
    kill -0 "$vmm" 2>/dev/null && { echo "E2E-HOST $1_hung=yes"; diagnose "$1 did not end"; ctl stop; }
    wait "$vmm"; echo "E2E-HOST $1_exit=$?"
    echo "----- $1 console -----"; tr -d '\r' <"$work/console.log"; echo "----- end -----"
    cat "$work/vmm.err"
}

# 1. First boot: user-data checks, data written, reboot from inside.
config ""
start_vmm
echo "E2E-HOST wait=$(timeout 300 hearth vmm-ctl --socket "$work/ctl.sock" wait)"
finish boot1
echo "E2E-HOST data=$(dd if="$work/data.raw" bs=512 skip=2048 count=1 2>/dev/null | head -c 16)"

# 2. Second boot (first-boot work already done): status, pause, resume, graceful shutdown.
config ""
start_vmm
wait_console "login:" 120
echo "E2E-HOST status=$(ctl status)"
echo "E2E-HOST pause=$(ctl pause)"
echo "E2E-HOST paused=$(ctl status)"
echo "E2E-HOST resume=$(ctl resume)"
echo "E2E-HOST shutdown=$(ctl shutdown)"
finish boot2

# 3. The bzImage boots to init; poweroff without ACPI ends the VM as a shutdown.
config "init=/bin/sh -- -c \\\"poweroff -f\\\"" "$bzimage"
start_vmm
finish boot3
/usr/sbin/ip link del tap0
