#!/bin/sh
# Runs inside the test host: boot an image from /hearth/images with
# qemu -M microvm -enable-kvm, hearth's kernel and a cidata seed volume, wait
# until MARKER shows on the guest console, then print the console.
# Usage: boot-guest.sh IMAGE_FILE SEED_IMG MARKER TIMEOUT_SECS [DISK_SIZE]
# DISK_SIZE: copy the image into RAM and grow the disk to this size first, so
# the guest has a filesystem to grow (only sensible for small images).
# acpi=off: like hearth's VMM, describe virtio-mmio devices on the kernel
# command line (qemu adds virtio_mmio.device=...) and CPUs in an MP table.
set -u
image="/hearth/images/$1" seed="$2" marker="$3" timeout="$4" size="${5:-}"
log=/tmp/guest-console.log
if [ -n "$size" ]; then
    cp "$image" /tmp/root.raw && truncate -s "$size" /tmp/root.raw || exit 1
    root="file=/tmp/root.raw"
else
    # Read-only image; the guest's writes go to a throwaway overlay.
    root="file=$image,snapshot=on"
fi
: >"$log"
start=$(date +%s)
qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host -smp 1 -m 1024 \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$HEARTH_TEST_KERNEL" -append "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw" \
    -drive "id=root,$root,format=raw,if=none" -device virtio-blk-device,drive=root \
    -drive "id=seed,file=$seed,format=raw,if=none,readonly=on" -device virtio-blk-device,drive=seed \
    -netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 \
    -serial "file:$log" &
pid=$!
status=1
while kill -0 $pid 2>/dev/null; do
    if grep -q "$marker" "$log"; then status=0; break; fi
    [ $(( $(date +%s) - start )) -lt "$timeout" ] || { echo "boot-guest: timeout after ${timeout}s"; break; }
    sleep 1
done
if [ $status = 0 ]; then
    echo "boot-guest: marker seen after $(( $(date +%s) - start ))s (emulated host clock)"
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
elif ! kill -0 $pid 2>/dev/null; then
    wait $pid; echo "boot-guest: qemu ended on its own (status $?); the test host's kernel log:"
    dmesg | tail -n 20
else
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi
echo "----- guest console -----"
tr -d '\r' <"$log"
exit $status
