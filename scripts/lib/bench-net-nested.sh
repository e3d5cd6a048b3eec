#!/bin/sh
# Runs inside the nested test host for scripts/bench-net: TCP throughput
# between two guests on one Linux bridge (a VSwitch as the node builds it: a
# bridge, one TAP a guest), the guests run by hearth's VMM or by
# qemu -M microvm on the same TAPs, kernel and tiny image, in turns (so all
# see the same emulation noise). Prints "BENCH net ..." lines, one a transfer,
# and "BENCH netdiag ..." lines, one a run: the client's TCP retransmissions
# and the frames the test host dropped at the TAPs (a VMM that drains its TAP
# too slowly loses frames there), which explain outliers.
#   hearth:      hearth-vmm (its virtio-net offers no offloads: every segment
#                is one <= 1514-byte frame through the TAP)
#   qemu:        qemu's virtio-net-device with its defaults (checksum and TSO
#                offloads through the TAP's vnet header, mergeable rx buffers)
#   qemu-plain:  qemu with the device's features cut to what hearth offers,
#                to tell a gap from missing offloads from one in the VMM's path
# Each run: the server guest boots and listens (netbench, "NET listening" on
# its console), then the client guest boots, sends $warm MiB, then XFERS times
# MIB MiB, one connection each; the server's own clock from accept to EOF
# gives each rate. The first transfer after boot is slow whatever the VMM
# (qemu: 4.5 s for 16 MiB, then 0.6-0.8 s; likely guest pages touched for the
# first time, each an expensive fault two levels of virtualization down, and no
# cached TCP metrics for the peer yet), hence the unmeasured warm-up (with 8 MiB the first
# measured transfer was still the slowest on qemu); several transfers a boot
# because a boot pair costs more than a transfer. 1 vCPU and 256 MiB each, only these two guests at a time (the
# emulated host gets unstable with more).
# Usage: bench-net-nested.sh RUNS MIB XFERS [FIRST]   (with /hearth/files/netbench carried in)
# FIRST: the run to start from (scripts/bench-net goes on in a new test host when one dies).
set -u
runs="${1:-3}" mib="${2:-16}" xfers="${3:-3}" i="${4:-1}" warm=16 work=/tmp/bench-net
ip=/usr/sbin/ip # iproute2: busybox sh would run its own ip applet for a bare `ip`
mkdir -p "$work" /mnt/root
cp "$HEARTH_TEST_IMAGES/tiny-x64.raw" "$work/root.raw"
mount -o loop "$work/root.raw" /mnt/root || exit 1
cp /hearth/files/netbench /mnt/root/usr/bin/netbench
# The kernel hands unknown name=value parameters (role=..., addr=...) to init
# as environment. The root is read-only: both guests share the one image.
cat >/mnt/root/usr/bin/netbench-init <<'INIT'
#!/bin/sh
mount -t proc proc /proc
ip link set lo up
if ! ip addr add "$addr/24" dev eth0 || ! ip link set eth0 up; then
    echo "NET error: no eth0"
elif [ "$role" = server ]; then
    netbench server 5001 $((xfers + 1))
else
    n=0
    netbench client "$peer" 5001 "$warm" &&
        while [ $n -lt "$xfers" ] && netbench client "$peer" 5001 "$mib"; do n=$((n + 1)); done
    # Tcp: ... OutSegs RetransSegs ... (fields 12 and 13), since boot.
    awk '/^Tcp: [0-9]/ {print "NET out_segs=" $12 " retrans=" $13}' /proc/net/snmp
fi
reboot -f
INIT
chmod 755 /mnt/root/usr/bin/netbench-init
umount /mnt/root

# The VSwitch: a bridge with an address (to ping the guests when debugging)
# and a persistent TAP per guest that each VMM opens by name.
$ip link add hbr0 type bridge || exit 1
$ip addr add 10.9.0.1/24 dev hbr0
$ip link set hbr0 up
for t in hsrv hcli; do
    $ip tuntap add dev $t mode tap || exit 1
    $ip link set $t master hbr0 up
done

base="console=ttyS0 reboot=t panic=1 pci=off root=/dev/vda ro init=/usr/bin/netbench-init"
# Per role: TAP, MAC, address.
srv="hsrv 52:54:00:09:00:02 10.9.0.2" cli="hcli 52:54:00:09:00:03 10.9.0.3"
# The virtio-net features hearth offers (MAC, VERSION_1) and nothing else
# (without ctrl_vq the guest refuses a device that offers any ctrl_* feature).
plain="csum=off,guest_csum=off,gso=off,host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off"
plain="$plain,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,mrg_rxbuf=off"
plain="$plain,event_idx=off,indirect_desc=off,status=off,guest_announce=off,ctrl_vq=off"
plain="$plain,ctrl_rx=off,ctrl_vlan=off,ctrl_rx_extra=off,ctrl_mac_addr=off,ctrl_guest_offloads=off"

start() { # start hearth|qemu|qemu-plain NAME "TAP MAC ADDR" CMDLINE: VMM in the background as $pid
    kind=$1 name=$2 cmdline=$4
    # shellcheck disable=SC2086 # split "TAP MAC ADDR" into $1 $2 $3
    set -- $3
    : >"$work/$name.log"
    if [ "$kind" = hearth ]; then
        cat >"$work/$name.json" <<JSON
{"vcpus": 1, "memory_mib": 256, "kernel": "$HEARTH_TEST_KERNEL", "cmdline": "$cmdline addr=$3",
 "disks": [{"path": "$work/root.raw", "id": "root", "read_only": true}],
 "nics": [{"tap": "$1", "mac": "$2"}], "console_log": "$work/$name.log"}
JSON
        hearth-vmm --config "$work/$name.json" 2>"$work/$name.err" &
    else
        dev="virtio-net-device,netdev=n0,mac=$2"
        [ "$kind" = qemu-plain ] && dev="$dev,$plain"
        qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm -cpu host \
            -smp 1 -m 256 -nodefaults -no-user-config -display none -no-reboot \
            -kernel "$HEARTH_TEST_KERNEL" -append "$cmdline addr=$3" \
            -drive "id=root,file=$work/root.raw,format=raw,if=none,readonly=on" -device virtio-blk-device,drive=root \
            -netdev "tap,id=n0,ifname=$1,script=no,downscript=no" -device "$dev" \
            -serial "file:$work/$name.log" 2>"$work/$name.err" &
    fi
    pid=$!
}
dropped() { cat /sys/class/net/hsrv/statistics/tx_dropped /sys/class/net/hcli/statistics/tx_dropped | awk '{s += $1} END {print s}'; }
# wait_for FILE TEXT SECS PID: until TEXT is in FILE; fails at the timeout or if PID exits.
wait_for() {
    n=0
    while ! grep -q "$2" "$1"; do
        kill -0 "$4" 2>/dev/null && [ $n -lt $(($3 * 5)) ] || return 1
        sleep 0.2; n=$((n + 1))
    done
}
# stop_after PID SECS: wait for PID to exit, killing it after SECS.
stop_after() {
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt $(($2 * 5)) ]; do sleep 0.2; n=$((n + 1)); done
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
fail() { # fail VMM RUN WHY: the result line plus both consoles' ends, for the report
    echo "BENCH net vmm=$1 run=$2 error=$3"
    for f in server client; do
        echo "NETFAIL vmm=$1 run=$2 $f console (last 15 lines), VMM stderr:"
        tail -n 15 "$work/$f.log" | tr -d '\r' | sed 's/^/NETFAIL   /'
        sed 's/^/NETFAIL   stderr: /' "$work/$f.err"
    done
}

while [ "$i" -le "$runs" ]; do
    for vmm in hearth qemu qemu-plain; do
        start $vmm server "$srv" "$base role=server xfers=$xfers"
        spid=$pid
        if ! wait_for "$work/server.log" "NET listening" 180 $spid; then
            stop_after $spid 0; fail $vmm "$i" server-not-listening; continue
        fi
        d0=$(dropped)
        start $vmm client "$cli" "$base role=client peer=10.9.0.2 warm=$warm mib=$mib xfers=$xfers"
        cpid=$pid
        # Under emulation a boot takes ~10 s and a 16 MiB transfer 3-20 s.
        stop_after $cpid 900
        stop_after $spid 30
        # The server's lines after the warm-up's, one a measured transfer.
        tr -d '\r' <"$work/server.log" | sed -n 's/^NET role=server //p' | sed 1d >"$work/results"
        x=0
        while read -r line; do
            x=$((x + 1))
            echo "BENCH net vmm=$vmm run=$i xfer=$x $line"
        done <"$work/results"
        [ $x = "$xfers" ] || fail $vmm "$i" "$x-of-$xfers-transfers"
        diag=$(tr -d '\r' <"$work/client.log" | sed -n 's/^NET out_segs/out_segs/p')
        echo "BENCH netdiag vmm=$vmm run=$i ${diag:-out_segs=none retrans=none} tap_dropped=$(($(dropped) - d0))"
    done
    i=$((i + 1))
done
