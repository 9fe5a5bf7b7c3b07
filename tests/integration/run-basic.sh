#!/bin/sh
# bale run and bale info: exit statuses, options, signal forwarding, and no
# process, mount or temp directory left behind by a killed run.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/sandbox-lib.sh"

R=$T_TMP/rootfs
sbx_rootfs "$R"

run "$BALE" info
is "$T_RC" 0 "bale info exits 0"
like "$T_OUT" "^user namespaces: yes" "info: user namespaces"
like "$T_OUT" "id mapping: (identity|subordinate ids|single id)" "info: the id mapping in use"
like "$T_OUT" "rootfs: (kernel overlayfs|copy fallback)" "info: overlay or the copy fallback"
like "$T_OUT" "seccomp: Docker's default profile" "info: seccomp"
like "$T_OUT" "cgroups: (v2|v1|none)" "info: cgroups"

run "$BALE" run --rootfs "$R" sh -c 'echo out; echo err >&2; exit 7'
is "$T_RC" 7 "the exit status is the command's"
is "$T_OUT" out "stdout passes through"
is "$T_ERR" err "stderr passes through"
run "$BALE" run --rootfs "$R" sh -c 'kill -TERM $$'
is "$T_RC" 143 "death by SIGTERM is 128+15"
run "$BALE" run --rootfs "$R" nosuchcommand
is "$T_RC" 127 "a missing command exits 127"
like "$T_ERR" "executable file not found" "  and says so"
run "$BALE" run --rootfs "$R" /etc/passwd
is "$T_RC" 126 "a non-executable command exits 126"
run "$BALE" run --rootfs "$R" -u nosuch true
is "$T_RC" 126 "an unknown user exits 126"
like "$T_ERR" "unable to find user 'nosuch'" "  naming it"
run "$BALE" run --rootfs "$R" --network bogus true
is "$T_RC" 2 "a bad --network is a usage error"
run "$BALE" run
is "$T_RC" 2 "no IMAGE is a usage error"

run "$BALE" run --rootfs "$R" -u user -w /home/user/w -e A=1 -e "B=two words" --hostname box -- \
	sh -c 'echo "$(id -un) $(pwd) $A $B $(hostname) $HOME"'
is "$T_OUT" "user /home/user/w 1 two words box /home/user" "-u -w -e --hostname"
run "$BALE" run --rootfs "$R" --network none cat /proc/net/dev
like "$T_OUT" "lo:" "--network none has lo"
is "$(printf '%s\n' "$T_OUT" | grep -c ':')" 1 "  and nothing else"
mkdir "$T_TMP/share"
echo shared >"$T_TMP/share/f"
run "$BALE" run --rootfs "$R" -v "$T_TMP/share:/mnt/share:ro" sh -c 'cat /mnt/share/f; touch /mnt/share/g'
is "$T_OUT" shared "-v binds a host directory"
like "$T_ERR" "Read-only file system" "  read-only with :ro"
run "$BALE" run --rootfs "$R" sh -c 'touch /new; echo x >> /etc/passwd'
run "$BALE" run --rootfs "$R" sh -c 'test -e /new || grep -c x /etc/passwd'
is "$T_OUT" 3 "changes are discarded: the rootfs directory is untouched"
ok=0; [ ! -e "$R/new" ] || ok=1
t_ok $ok "  nothing was written into the rootfs directory"

# An image of the local store.
tar --numeric-owner -C "$R" -cf "$T_TMP/rootfs.tar" .
STORE=$T_TMP/store
run "$BALE" --root "$STORE" import "$T_TMP/rootfs.tar" sbx-test:1
is "$T_RC" 0 "an image is imported into a store"
run "$BALE" --root "$STORE" run sbx-test:1 sh -c 'cat /etc/shadow; exit 3'
is "$T_RC" 3 "bale run IMAGE: the command's exit status"
is "$T_OUT" image-shadow "  it runs in the image's files"
# The image's layer is extracted once into the store and shared: runs
# write to their own upper dir, never into it.
ext=$(ls -d "$STORE"/extracted/sha256/* 2>/dev/null)
is "$(printf '%s\n' "$ext" | grep -c .)" 1 "the layer is extracted once into the store"
ino=$(stat -c %i "$ext")
run "$BALE" --root "$STORE" run sbx-test:1 sh -c 'touch /new; echo x >> /etc/passwd; rm /etc/group'
run "$BALE" --root "$STORE" run sbx-test:1 sh -c 'test ! -e /new && test -e /etc/group && grep -c x /etc/passwd'
is "$T_OUT" 3 "a run's changes are discarded, the next run sees the image"
is "$(stat -c %i "$ext")" "$ino" "  from the same extracted dir"
ok=0; [ ! -e "$ext/new" ] && [ -e "$ext/etc/group" ] || ok=1
t_ok $ok "  which the runs did not change"
run "$BALE" --root "$STORE" run sbx-test:1
is "$T_RC" 125 "an image without Cmd and no command exits 125"
like "$T_ERR" "has no command" "  saying why"
run "$BALE" --root "$STORE" run nosuch:1 true
is "$T_RC" 125 "an unknown image exits 125"
like "$T_ERR" "no such image" "  saying so"
run "$BALE" --root "$STORE" tag sbx-test:1 sbx-test:2
run "$BALE" --root "$STORE" rmi sbx-test:1 sbx-test:2
is "$T_RC" 0 "rmi the image"
ok=0; [ ! -e "$ext" ] || ok=1
t_ok $ok "  its extracted layer goes with its blobs"

# Signals reach the step: SIGTERM to bale, the step's trap answers.
"$BALE" run --rootfs "$R" sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' \
	>"$T_TMP/sig.out" 2>&1 &
pid=$!
i=0
while [ "$i" -lt 100 ] && ! grep -qs ready "$T_TMP/sig.out"; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid
is "$?" 42 "SIGTERM is forwarded to the step"

# A killed bale leaves nothing: no step process, no mount namespace, no
# temp directory.
tag=bale-sbx-kill-$$
# (Tests running in parallel come and go as /tmp/bale-it.* and
# /tmp/bale-test-*: not bale's.)
tmp_entries() { ls -d /tmp/bale* 2>/dev/null | grep -Ev '^/tmp/bale-(it\.|test-)' | sort; }
before=$(tmp_entries)
"$BALE" run --rootfs "$R" sh -c "echo ready; sleep 1000; : $tag" >"$T_TMP/kill.out" 2>&1 &
pid=$!
i=0
while [ "$i" -lt 100 ] && ! grep -qs ready "$T_TMP/kill.out"; do sleep 0.05; i=$((i + 1)); done
ps -eo args | grep -v grep | grep -q "sleep 1000; : $tag"
is "$?" 0 "the step runs"
# The mount namespaces of bale and of the step (its init and shell).
pids="$pid $(ps -eo pid,args | grep -v grep | grep "$tag" | awk '{print $1}')"
nss=$(for p in $pids; do readlink "/proc/$p/ns/mnt"; done | sort -u)
[ -n "$nss" ]
is "$?" 0 "  in its own mount namespaces"
kill -KILL $pid
wait $pid 2>/dev/null
i=0
while [ "$i" -lt 50 ] && ps -eo args | grep -v grep | grep -q "sleep 1000; : $tag"; do sleep 0.1; i=$((i + 1)); done
ps -eo args | grep -v grep | grep -q "sleep 1000; : $tag"
is "$?" 1 "after SIGKILL of bale, no step process is left"
# The kernel tears a namespace down after its last process is reaped:
# poll, as above, rather than sample once. nsfs inode numbers are reused
# at once by the namespaces of tests running beside this one, so a process
# in one of those namespaces counts only when it is one of this run's (its
# command line carries the tag: bale's forked init does too).
ns_left() {
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
		printf '%s\n' "$nss" | grep -qFx "$ns" || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$tag" && echo "$ns"
	done | sort -u
}
i=0
while [ "$i" -lt 50 ] && [ -n "$(ns_left)" ]; do sleep 0.1; i=$((i + 1)); done
is "$(ns_left)" "" "  no mount namespace (and so no mount) is left"
after=$(tmp_entries)
is "$after" "$before" "  no temp directory is left"
done_testing
