#!/bin/sh
# Runs inside the nested test host for scripts/bench-vmm: hearth's VMM and
# qemu -M microvm boot the same kernel and tiny image with the same disks, in
# turns (ABAB, so both see the same emulation noise). Prints "BENCH ..." lines.
#   boot: wall time from starting the VMM until it exits, the guest's init
#         being a script that reboots at once (so: VMM setup + kernel boot to
#         init + reboot), and the guest kernel's own clock at "Run ... init".
#   blk:  blkbench (scripts/lib/blkbench.c) on the data disk, O_DIRECT.
#   blklimit: the same on hearth with the data disk rate-limited (LIMIT_IOPS,
#         LIMIT_BYTES below), to show the limiter holding the guest to them.
#   mem:  RSS of each VMM minus its resident guest RAM, guest idle at login.
# reboot=t: qemu microvm has no i8042 to reset through; a triple fault ends
# both VMMs (with -no-reboot for qemu).
# Usage: bench-vmm-nested.sh RUNS   (with /hearth/files/blkbench carried in)
set -u
runs="${1:-5}" work=/tmp/bench
mkdir -p "$work" /mnt/root
cp "$HEARTH_TEST_IMAGES/tiny-x64.raw" "$work/root.raw"
mount -o loop "$work/root.raw" /mnt/root || exit 1
cp /hearth/files/blkbench /mnt/root/usr/bin/blkbench
# The kernel hands unknown name=value parameters (bench=...) to init as environment.
cat >/mnt/root/usr/bin/bench-init <<'INIT'
#!/bin/sh
if [ "$bench" = blk ]; then
    mount -t proc proc /proc
    echo "$(blkbench /dev/vdb 3)"
fi
reboot -f
INIT
chmod 755 /mnt/root/usr/bin/bench-init
umount /mnt/root
truncate -s 256M "$work/data.raw"
base="console=ttyS0 reboot=t panic=1 pci=off root=/dev/vda rw"
up() { cut -d' ' -f1 /proc/uptime; }

# The data disk's limit in the blklimit run, read next to the unlimited hearth
# run. Under emulation one-at-a-time 4 KiB I/O reaches only ~150-250 IOPS, so
# an ECS-like 2,000 IOPS would not show; 100 does. 20 MB/s binds the 1 MiB
# sequential passes (~75-200 MiB/s unlimited) and not the random ones.
LIMIT_IOPS=100 LIMIT_BYTES=20000000

data_extra= # more keys for hearth's data disk (JSON), for the blklimit run
hearth_cfg() { # hearth_cfg CMDLINE
    cat >"$work/vm.json" <<JSON
{"vcpus": 2, "memory_mib": 512, "kernel": "$HEARTH_TEST_KERNEL", "cmdline": "$1",
 "disks": [{"path": "$work/root.raw", "id": "root"}, {"path": "$work/data.raw", "id": "data"${data_extra:+, $data_extra}}],
 "console_log": "$work/console.log"}
JSON
}
start() { # start hearth|qemu CMDLINE: starts the VMM in the background as $pid
    : >"$work/console.log"
    if [ "$1" = hearth ]; then
        hearth_cfg "$2"
        hearth-vmm --config "$work/vm.json" 2>"$work/vmm.err" &
    else
        qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm -cpu host \
            -smp 2 -m 512 -nodefaults -no-user-config -display none -no-reboot \
            -kernel "$HEARTH_TEST_KERNEL" -append "$2" \
            -drive "id=root,file=$work/root.raw,format=raw,if=none" -device virtio-blk-device,drive=root \
            -drive "id=data,file=$work/data.raw,format=raw,if=none" -device virtio-blk-device,drive=data \
            -serial "file:$work/console.log" 2>"$work/vmm.err" &
    fi
    pid=$!
}
init_at() { tr -d '\r' <"$work/console.log" | sed -n 's/^\[ *\([0-9.]*\)\] Run .* as init process.*/\1/p' | head -n 1; }

i=1
while [ $i -le "$runs" ]; do
    for vmm in hearth qemu; do
        t0=$(up)
        start $vmm "$base init=/usr/bin/bench-init bench=boot"
        wait $pid
        t1=$(up)
        echo "BENCH boot vmm=$vmm run=$i wall_s=$(awk "BEGIN {print $t1 - $t0}") init_s=$(init_at)"
    done
    i=$((i + 1))
done

for vmm in hearth qemu; do
    start $vmm "$base init=/usr/bin/bench-init bench=blk"
    wait $pid
    echo "BENCH blk vmm=$vmm $(tr -d '\r' <"$work/console.log" | sed -n 's/^BLK //p')"
done

data_extra="\"rate_limit\": {\"iops\": $LIMIT_IOPS, \"bytes_per_sec\": $LIMIT_BYTES}"
start hearth "$base init=/usr/bin/bench-init bench=blk"
wait $pid
data_extra=
echo "BENCH blklimit vmm=hearth limit_iops=$LIMIT_IOPS limit_bytes=$LIMIT_BYTES $(tr -d '\r' <"$work/console.log" | sed -n 's/^BLK //p')"

for vmm in hearth qemu; do
    start $vmm "$base"
    n=0
    while ! grep -q "login:" "$work/console.log" && [ $n -lt 300 ]; do sleep 1; n=$((n + 1)); done
    sleep 3
    awk '/^Size:/ {size = $2} /^Rss:/ {rss += $2; if (size == 524288) guest += $2}
         END {printf "BENCH mem vmm=%s rss_kib=%d guest_kib=%d overhead_kib=%d\n", v, rss, guest, rss - guest}' \
        v=$vmm "/proc/$pid/smaps"
    kill $pid; wait $pid 2>/dev/null
done
