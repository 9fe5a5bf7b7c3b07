#!/bin/bash
# kill -9 `bale serve` in the middle of 50 concurrent uploads (chunked and
# monolithic), restart it, retry: every blob it serves has its digest, every
# push that completed before the kill is intact, and no half-written file is
# visible in the store.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

N=50
ROOT="$T_TMP/root"
start_registry --root "$ROOT" || exit 1
MA=$(mk_oci "$T_TMP/a" a 2 100000)
is "$(push_image crash/app v1 "$T_TMP/a" "$MA")" 201 "an image pushed before the crash"

mkdir -p "$T_TMP/blobs" "$T_TMP/st"
for i in $(seq 1 $N); do head -c $((1024 * 1024 + i)) /dev/urandom > "$T_TMP/blobs/$i"; done

# One upload: monolithic for odd i, POST + PATCH + PUT for even i. The
# rate limit keeps them in flight when the server dies. Writes the final
# status to st/$i.
upload() {
	local i=$1 f="$T_TMP/blobs/$1" d loc st rate=300k
	d=$(sha "$f")
	[ "$i" -le 10 ] && rate=1000M # these complete before the kill
	if [ $((i % 2)) = 1 ]; then
		st=$(curl -s -o /dev/null -w '%{http_code}' --limit-rate $rate -X POST \
			--data-binary @"$f" "http://$REG/v2/crash/r$i/blobs/uploads/?digest=$d")
	else
		loc=$(curl -s -D - -o /dev/null -X POST "http://$REG/v2/crash/r$i/blobs/uploads/" |
			tr -d '\r' | sed -n 's/^Location: //Ip')
		st=000
		if [ -n "$loc" ] &&
			curl -sf -o /dev/null --limit-rate $rate -X PATCH --data-binary @"$f" "http://$REG$loc"; then
			st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://$REG$loc?digest=$d")
		fi
	fi
	echo "$st" > "$T_TMP/st/$i"
}

pids=
for i in $(seq 1 $N); do upload "$i" & pids="$pids $!"; done
# kill once a few uploads completed (the fast ones), with the rest in flight
for t in $(seq 1 400); do
	[ "$(cat "$T_TMP"/st/* 2>/dev/null | grep -c 201)" -ge 5 ] && break
	sleep 0.05
done
kill9_registry
wait $pids
done_before=$(grep -l 201 "$T_TMP"/st/* 2>/dev/null | wc -l)
diag "$done_before of $N uploads completed before the kill: $(cat "$T_TMP"/st/* | sort | uniq -c | tr "\n" " ")"
t_ok $((done_before == 0 || done_before == N)) "the kill came with some uploads done and others in flight"

start_registry --root "$ROOT" || exit 1
is "$(image_ok crash/app v1)" ok "image pushed before the crash is intact"
for i in $(seq 1 $N); do
	if grep -q 201 "$T_TMP/st/$i"; then
		got=$(curl -sf "http://$REG/v2/crash/r$i/blobs/$(sha "$T_TMP/blobs/$i")" | sha256sum | cut -d' ' -f1)
		[ "sha256:$got" = "$(sha "$T_TMP/blobs/$i")" ] || echo "$i" >> "$T_TMP/broken"
	fi
done
is "$(cat "$T_TMP/broken" 2>/dev/null | wc -l)" 0 "every upload completed before the kill is served with its digest"

# the store holds only verified blobs and no temp files
bad=0
for f in "$ROOT"/blobs/sha256/*; do
	[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad=$((bad + 1))
done
is "$bad" 0 "every blob in the store matches its name"
is "$(find "$ROOT/repositories" -name '.tmp-*' | wc -l)" 0 "no temp link files after restart"

# retry everything: all succeed and are served intact
rm -f "$T_TMP"/st/*
pids=
for i in $(seq 1 $N); do upload "$i" & pids="$pids $!"; done
wait $pids
is "$(grep -l 201 "$T_TMP"/st/* | wc -l)" "$N" "all $N uploads succeed on retry"
rm -f "$T_TMP/broken"
for i in $(seq 1 $N); do
	got=$(curl -sf "http://$REG/v2/crash/r$i/blobs/$(sha "$T_TMP/blobs/$i")" | sha256sum | cut -d' ' -f1)
	[ "sha256:$got" = "$(sha "$T_TMP/blobs/$i")" ] || echo "$i" >> "$T_TMP/broken"
done
is "$(cat "$T_TMP/broken" 2>/dev/null | wc -l)" 0 "every blob served has its digest"

done_testing
