#!/bin/sh
# `bale build` features the referee (docker 20.10's BuildKit frontend) does
# not have, or that need more than one build: heredocs, --parents,
# --exclude, --link, ADD --checksum of a URL, ADD of a git repository, git
# and stdin contexts, the cache (hits, invalidation from the first changed
# step, --no-cache), reproducible builds, outputs, secrets, and a failing
# RUN. Checked against the Dockerfile reference with expected files.
. "$top_srcdir/tests/integration/lib.sh"

CTX="$top_srcdir/testdata/build/features/ctx"
export BALE_ROOT="$T_TMP/root"
sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar" >/dev/null 2>&1
case $? in 0) ;; 77) skip_all "no static busybox (apt-get install busybox-static)" ;; *) exit 1 ;; esac
SOURCE_DATE_EPOCH=1700000000 run "$BALE" import "$T_TMP/rootfs.tar" base:1
is "$T_RC" 0 "import the busybox base"
# libgit2 leaks a pcre2 match block per regex it compiles (not ours)
printf 'leak:libpcre2-8.so\nleak:libgit2.so\n' >"$T_TMP/lsan.supp"
export LSAN_OPTIONS="suppressions=$T_TMP/lsan.supp"

df() { # df NAME: the Dockerfile with the base filled in
	sed "s|@BASE@|base:1|g" "$CTX/$1.Dockerfile" >"$T_TMP/$1.Dockerfile"
	echo "$T_TMP/$1.Dockerfile"
}
build() { # build NAME OUTDIR [OPTIONS...]: build to a rootfs dir
	n=$1 out=$2
	shift 2
	rm -rf "$out"
	run "$BALE" build -q --network none -f "$(df "$n")" --output "type=local,dest=$out" "$@" "$CTX"
}
content() { cat "$1" 2>/dev/null || echo "(missing $1)"; }

# ---- heredocs
build heredoc "$T_TMP/h"
is "$T_RC" 0 "heredocs build"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
is "$(content "$T_TMP/h/script.txt")" "hello from a heredoc script" "RUN <<EOT runs the body as a script"
is "$(content "$T_TMP/h/inline.txt")" "inline world" "RUN cat <<EOT: the shell reads the body"
is "$(content "$T_TMP/h/copied.txt")" "copied world" "COPY <<EOT writes the expanded body"
is "$(content "$T_TMP/h/quoted.txt")" 'not expanded ${NAME}' "COPY <<'EOT' keeps it as written"
is "$(content "$T_TMP/h/chomped.txt")" "chomped" "<<- strips leading tabs"

# ---- --parents, --exclude, --link
build parents "$T_TMP/p"
is "$T_RC" 0 "--parents/--exclude/--link build"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
is "$(content "$T_TMP/p/p/src/a/b/one.txt")" "one" "--parents keeps the source path"
is "$(content "$T_TMP/p/p/src/c/two.txt")" "two" "--parents with two sources"
is "$(content "$T_TMP/p/pivot/a/b/one.txt")" "one" "--parents: /./ is the pivot"
is "$(content "$T_TMP/p/excl/b/one.txt")" "one" "--exclude keeps the rest"
[ ! -e "$T_TMP/p/excl/b/skip.log" ]
t_ok $? "--exclude=*.log leaves the log out"
is "$(content "$T_TMP/p/linked/file.txt")" "f" "--link copies the file"

# ---- a failing RUN: line, command, status; nothing tagged
run "$BALE" build -q --network none -f "$(df fail)" -t failed:1 "$CTX"
is "$T_RC" 1 "a failing RUN fails the build"
like "$T_ERR" "fail.Dockerfile:3: RUN .*exit 3.*exit status 3" "the error has the line, command and status"
run "$BALE" inspect failed:1
isnt_rc=$T_RC
[ "$isnt_rc" -ne 0 ]
t_ok $? "nothing is tagged"

# ---- cache
cp -r "$CTX" "$T_TMP/cctx"
cf=$(df cache)
run "$BALE" build --progress plain --network none -f "$cf" -t c:1 "$T_TMP/cctx"
is "$T_RC" 0 "cache: first build"
run "$BALE" build --progress plain --network none -f "$cf" -t c:2 "$T_TMP/cctx"
like "$T_ERR" "\(0 steps, 4 cached\)" "cache: a rebuild takes every layer step from the cache"
sleep 1
touch "$T_TMP/cctx/file.txt"
run "$BALE" build --progress plain --network none -f "$cf" -t c:3 "$T_TMP/cctx"
like "$T_ERR" "\(0 steps, 4 cached\)" "cache: touching a file (same content) is still a hit"
echo changed >"$T_TMP/cctx/src/c/two.txt"
run "$BALE" build --progress plain --network none -f "$cf" -t c:4 "$T_TMP/cctx"
like "$T_ERR" "\(1 steps, 3 cached\)" "cache: changing a file of the last COPY reruns only that step"
echo changed >"$T_TMP/cctx/file.txt"
run "$BALE" build --progress plain --network none -f "$cf" -t c:5 "$T_TMP/cctx"
like "$T_ERR" "\(3 steps, 1 cached\)" "cache: changing the first COPY's file reruns from there"
run "$BALE" build --progress plain --no-cache --network none -f "$cf" -t c:6 "$T_TMP/cctx"
like "$T_ERR" "\(4 steps, 0 cached\)" "--no-cache runs every step"

# ---- reproducible
run "$BALE" build -q --network none --source-date-epoch 1700000000 -f "$cf" -t r:1 \
	--iidfile "$T_TMP/iid1" "$T_TMP/cctx"
SOURCE_DATE_EPOCH=1700000000 BALE_ROOT="$T_TMP/root2" "$BALE" import "$T_TMP/rootfs.tar" base:1 >/dev/null 2>&1
sleep 1
touch "$T_TMP/cctx/src/a/b/one.txt"
BALE_ROOT="$T_TMP/root2" run "$BALE" build -q --network none --source-date-epoch 1700000000 \
	-f "$cf" -t r:1 --iidfile "$T_TMP/iid2" "$T_TMP/cctx"
is "$(cat "$T_TMP/iid2" 2>/dev/null)" "$(cat "$T_TMP/iid1" 2>/dev/null)" \
	"--source-date-epoch: another store, another day: the same image id"
m2=$(BALE_ROOT="$T_TMP/root2" "$BALE" inspect r:1 | grep -m1 '"Digest"')
m1=$("$BALE" inspect r:1 | grep -m1 '"Digest"')
is "$m2" "$m1" "--source-date-epoch: the same manifest digest"

# ---- outputs
run "$BALE" build -q --network none -f "$cf" --output "type=oci,dest=$T_TMP/layout" \
	--output "type=oci-archive,dest=$T_TMP/oci.tar" --output "type=docker-archive,dest=$T_TMP/docker.tar" "$T_TMP/cctx"
is "$T_RC" 0 "outputs: oci, oci-archive, docker-archive"
[ -f "$T_TMP/layout/index.json" ] && [ -f "$T_TMP/layout/oci-layout" ]
t_ok $? "the OCI layout has index.json and oci-layout"
tar -tf "$T_TMP/docker.tar" | grep -q manifest.json
t_ok $? "the docker-archive has manifest.json"
tar -tf "$T_TMP/oci.tar" | grep -q index.json
t_ok $? "the oci-archive has index.json"
if command -v skopeo >/dev/null; then
	skopeo inspect "oci:$T_TMP/layout" >/dev/null 2>&1
	t_ok $? "skopeo reads the OCI layout"
fi

# ---- secrets: available to RUN, never in the image
printf 's3cr3t-value' >"$T_TMP/secret"
run "$BALE" build -q --network none -f "$(df secret)" --secret "id=tok,src=$T_TMP/secret" \
	-t s:1 --output "type=local,dest=$T_TMP/s" "$CTX"
is "$T_RC" 0 "secret build"
is "$(content "$T_TMP/s/secret-size" | tr -d ' ')" "12" "the secret is mounted"
[ ! -e "$T_TMP/s/run/secrets/tok" ] || [ ! -s "$T_TMP/s/run/secrets/tok" ]
t_ok $? "the secret is not in the image"
"$BALE" save s:1 >"$T_TMP/s.tar" 2>/dev/null
! grep -q "s3cr3t-value" "$T_TMP/s.tar"
t_ok $? "the secret is not anywhere in the saved image"
! grep -rq "s3cr3t-value" "$BALE_ROOT/build/cache" 2>/dev/null
t_ok $? "the secret is not in the cache index"

# ---- stdin context and git contexts
tar -C "$T_TMP/cctx" -cf - . | run "$BALE" build -q --network none -f "$cf" -t stdin:1 -
is "$T_RC" 0 "a tar context on stdin"
if command -v git >/dev/null; then
	git init -q "$T_TMP/repo" && cp -r "$T_TMP/cctx/." "$T_TMP/repo/" &&
		sed "s|@BASE@|base:1|g" "$CTX/cache.Dockerfile" >"$T_TMP/repo/Dockerfile" &&
		git -C "$T_TMP/repo" add -A && git -C "$T_TMP/repo" -c user.email=t@t -c user.name=t commit -qm init &&
		git -C "$T_TMP/repo" branch -q -M main
	run "$BALE" build -q --network none -t git:1 --output "type=local,dest=$T_TMP/g" "file://$T_TMP/repo#main"
	is "$T_RC" 0 "a git context (file:// URL with a ref)"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	is "$(content "$T_TMP/g/file.txt")" "changed" "its files are copied"

	# ADD of a URL with --checksum, of a git repository
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	(cd "$T_TMP/cctx" && exec python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
	srv=$!
	# python's start-up takes seconds on a loaded machine: wait for it.
	i=0
	while [ "$i" -lt 100 ] && ! curl -fs -o /dev/null "http://127.0.0.1:$port/file.txt"; do
		sleep 0.1
		i=$((i + 1))
	done
	sum=sha256:$(sha256sum "$T_TMP/cctx/file.txt" | cut -d' ' -f1)
	run "$BALE" build -q --network none -f "$(df add)" --build-arg "URL=http://127.0.0.1:$port/file.txt" \
		--build-arg "SUM=$sum" --build-arg "GITURL=file://$T_TMP/repo#main" \
		--output "type=local,dest=$T_TMP/a" "$CTX"
	is "$T_RC" 0 "ADD of a URL and a git repository"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	is "$(content "$T_TMP/a/downloaded/file.txt")" "changed" "ADD URL downloads the file"
	is "$(content "$T_TMP/a/gitsrc/file.txt")" "changed" "ADD git checks the repository out"
	[ ! -e "$T_TMP/a/gitsrc/.git" ] && [ -d "$T_TMP/a/gitkeep/.git" ]
	t_ok $? "ADD git drops .git unless --keep-git-dir"
	run "$BALE" build -q --network none -f "$(df add)" --build-arg "URL=http://127.0.0.1:$port/file.txt" \
		--build-arg "SUM=sha256:0000000000000000000000000000000000000000000000000000000000000000" \
		--build-arg "GITURL=file://$T_TMP/repo#main" "$CTX"
	is "$T_RC" 1 "ADD --checksum refuses a mismatch"
	like "$T_ERR" "digest mismatch" "and says so"
	kill "$srv" 2>/dev/null
fi

done_testing
