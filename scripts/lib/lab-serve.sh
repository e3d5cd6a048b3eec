#!/bin/sh
# Inside lab mode's test host (see scripts/lab): hearth's data dir is the state disk, so the
# database, disks and consoles outlive the test host; the kernel and images are the carried ones.
# A request to port 8099 (/cgi-bin/stop) stops hearth serve, then the instances' VMMs, and
# unmounts the state disk before the test host powers off.
set -u
data=/var/lib/hearth
disk=/dev/disk/hearth/state
say() { echo "lab: $*"; }

[ -e "$disk" ] || { say "ERROR: no state disk attached"; exit 1; }
mkdir -p "$data"
mount -t ext4 -o noatime "$(readlink -f "$disk")" "$data" || { say "ERROR: cannot mount the state disk"; exit 1; }
ln -sf /hearth/vmlinux "$data/vmlinux"
ln -sfn /hearth/images "$data/images"

mkdir -p /www/cgi-bin
cat >/www/cgi-bin/stop <<'CGI'
#!/bin/sh
echo "Content-Type: text/plain"
echo
kill -TERM "$(cat /run/hearth-serve.pid)" && echo stopping
CGI
chmod 755 /www/cgi-bin/stop
busybox httpd -p 8099 -h /www

say "$(hearth host-check)"
config=""
[ -f /hearth/files/hearth.toml ] && config="--config /hearth/files/hearth.toml"
. /hearth/files/lab-credentials
export HEARTH_ACCESS_KEY_ID HEARTH_ACCESS_KEY_SECRET NO_COLOR=1
# shellcheck disable=SC2086
hearth serve --listen 0.0.0.0:8080 --data-dir "$data" --host-network host --instances run $config &
echo $! >/run/hearth-serve.pid
wait "$(cat /run/hearth-serve.pid)"
status=$?
say "hearth serve ended (exit status $status)"

# The VMMs run in sessions of their own and would outlive hearth serve; their disks are on the
# state disk, which must be unmounted cleanly.
vmms() { for p in /proc/[0-9]*; do grep -q '^/usr/bin/hearth-vmm' "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"; done; }
pids=$(vmms)
if [ -n "$pids" ]; then
    say "stopping $(echo $pids | wc -w) instance VMM(s)"
    kill -TERM $pids 2>/dev/null
    n=0
    while [ -n "$(vmms)" ] && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
    pids=$(vmms); [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    sleep 0.5
fi
sync
umount "$data" && say "state disk unmounted" || say "WARNING: the state disk could not be unmounted"
exit $status
