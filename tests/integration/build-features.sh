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
is "$(content "$T_TMP/p/excl2/b/one.txt")" "one" \
	"--exclude=#b and --exclude=/b are patterns (BuildKit's New), not a comment and b"
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
# The cache outlives the images, as BuildKit's outlives docker rmi: rmi and
# prune keep the layers it names; prune --build-cache forgets them.
run "$BALE" rmi -f c:1 c:2 c:3 c:4 c:5 c:6
is "$T_RC" 0 "cache: rmi every image built from it"
run "$BALE" prune
is "$T_RC" 0 "cache: prune"
run "$BALE" build --progress plain --network none -f "$cf" -t c:7 "$T_TMP/cctx"
like "$T_ERR" "\(0 steps, 4 cached\)" "cache: after rmi and prune of its images a rebuild still hits"
run "$BALE" rmi c:7
run "$BALE" prune --build-cache
like "$T_OUT" "^Deleted [1-9][0-9]* build cache entries" "prune --build-cache forgets the entries"
like "$T_OUT" "Deleted 0 untagged images and [1-9][0-9]* blobs" "  and removes the layers only they kept"
run "$BALE" build --progress plain --network none -f "$cf" -t c:8 "$T_TMP/cctx"
like "$T_ERR" "\(4 steps, 0 cached\)" "after prune --build-cache the next build runs every step"

# ---- progress: BuildKit's plain lines, json events, a tty view, -q
pf=$(df progress)
run "$BALE" build --progress plain --network none -f "$pf" -t p:1 "$T_TMP/cctx"
is "$T_RC" 0 "progress: plain build"
like "$T_ERR" "^#1 \[build 1/3\] FROM base:1$" "plain: #N [stage k/n] FROM"
like "$T_ERR" "^#2 \[build 2/3\] RUN echo line-one && echo line-two >&2$" "plain: the RUN line as written"
like "$T_ERR" "^#2 line-one$" "plain: the step's stdout prefixed with #N"
like "$T_ERR" "^#2 line-two$" "plain: and its stderr"
like "$T_ERR" "^#2 DONE [0-9]+\.[0-9]s$" "plain: #N DONE with the step's time"
like "$T_ERR" "^#4 writing image $T_OUT done$" "plain: writing image with the image id"
like "$T_ERR" "^#4 naming to [^ ]*p:1 done$" "plain: naming to the tag"
run "$BALE" build --network none -f "$pf" -t p:1 "$T_TMP/cctx"
like "$T_ERR" "^#2 CACHED$" "auto without a tty is plain; a hit is #N CACHED"
run "$BALE" build --progress json --network none -f "$pf" -t p:1 --no-cache "$T_TMP/cctx"
printf '%s\n' "$T_ERR" >"$T_TMP/progress.json"
python3 - "$T_TMP/progress.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = any(e.get("id") == "#2" and e.get("event") == "start" and "RUN echo line-one" in e.get("label", "") for e in ev)
ok = ok and any(e.get("id") == "#2" and e.get("event") == "done" and e.get("status", "").startswith("DONE ") for e in ev)
ok = ok and any(e.get("event") == "message" and e.get("message") == "#2 line-one" for e in ev)
ok = ok and any(e.get("event") == "message" and e.get("message", "").startswith("#4 writing image sha256:") for e in ev)
sys.exit(0 if ok else 1)
PY
t_ok $? "json: one object per line: step start/done, output and image messages"
run "$BALE" build --progress tty --network none -f "$pf" -t p:1 "$T_TMP/cctx"
esc=$(printf '\033')
case $T_ERR in *"$esc["*"#2 [build 2/3] RUN echo line-one"*"CACHED"*) r=0 ;; *) r=1 ;; esac
t_ok $r "tty: a live view of the steps (redrawn, cached)"
run "$BALE" build -q --network none -f "$pf" -t p:1 "$T_TMP/cctx"
like "$T_OUT" "^sha256:[0-9a-f]{64}$" "-q: stdout is the image id"
case $T_ERR in *"#"*) r=1 ;; *) r=0 ;; esac
t_ok $r "-q: no step lines"

# ---- RUN --mount: bind rw (writes discarded), cache sharing
build mount-rw "$T_TMP/rw" --no-cache
is "$T_RC" 0 "bind,rw: the step may write into the mount"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
is "$(content "$T_TMP/rw/seen")" "new
f
more" "bind,rw: the step sees its own writes"
is "$(content "$T_TMP/rw/ro-list" | grep -c new.txt)" "0" "bind,rw: the next step does not"
[ ! -e "$CTX/new.txt" ] && [ "$(cat "$CTX/file.txt")" = "f" ]
t_ok $? "bind,rw: the context is untouched"
[ ! -e "$T_TMP/rw/ctx/new.txt" ]
t_ok $? "bind,rw: the writes are not in the layer"

lk=$(df cache-locked)
"$BALE" build -q --no-cache --network none -f "$lk" --build-arg WHO=a "$CTX" >/dev/null 2>"$T_TMP/lk-a.err" &
pa=$!
"$BALE" build -q --no-cache --network none -f "$lk" --build-arg WHO=b "$CTX" >/dev/null 2>"$T_TMP/lk-b.err" &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
is "$ra$rb" "00" "sharing=locked: two builds at once"
build cache-read "$T_TMP/lk" --no-cache --build-arg ID=lk
log=$(content "$T_TMP/lk/log" | tr '\n' ' ')
case $log in "start a end a start b end b "|"start b end b start a end a ") r=0 ;; *) r=1 ;; esac
t_ok $r "sharing=locked: one step holds the cache at a time"
[ $r -eq 0 ] || diag "log: $log"

pv=$(df cache-private)
"$BALE" build -q --no-cache --network none -f "$pv" --build-arg ROLE=holder "$CTX" >/dev/null 2>"$T_TMP/pv.err" &
ph=$!
sleep 1.5
build cache-private "$T_TMP/pv1" --no-cache --build-arg ROLE=reader
wait "$ph"; rh=$?
is "$rh$T_RC" "00" "sharing=private: two builds at once"
is "$(content "$T_TMP/pv1/seen")" "" "sharing=private: a cache in use gives a fresh one"
build cache-private "$T_TMP/pv2" --no-cache --build-arg ROLE=reader
is "$(content "$T_TMP/pv2/seen")" "holder-was-here" "sharing=private: a free cache is the shared one"

# ---- hard links among COPY sources stay hard links (docker keeps them)
mkdir -p "$T_TMP/hctx/dir/sub"
echo linked >"$T_TMP/hctx/dir/a"
ln "$T_TMP/hctx/dir/a" "$T_TMP/hctx/dir/b"
ln "$T_TMP/hctx/dir/a" "$T_TMP/hctx/dir/sub/c"
echo top >"$T_TMP/hctx/x"
ln "$T_TMP/hctx/x" "$T_TMP/hctx/y"
printf 'FROM base:1\nCOPY dir /d\nCOPY x y /top/\n' >"$T_TMP/hctx/Dockerfile"
rm -rf "$T_TMP/hl" "$T_TMP/hlay"
run "$BALE" build -q --network none --output "type=local,dest=$T_TMP/hl" \
	--output "type=oci,dest=$T_TMP/hlay" "$T_TMP/hctx"
is "$T_RC" 0 "hard links: build"
ino() { stat -c %i "$1" 2>/dev/null || echo "missing $1"; }
[ "$(ino "$T_TMP/hl/d/a")" = "$(ino "$T_TMP/hl/d/b")" ] && [ "$(ino "$T_TMP/hl/d/a")" = "$(ino "$T_TMP/hl/d/sub/c")" ]
t_ok $? "hard links: one inode for the three names of a copied directory"
[ "$(ino "$T_TMP/hl/top/x")" = "$(ino "$T_TMP/hl/top/y")" ]
t_ok $? "hard links: two file sources of one COPY stay linked"
links=$(python3 - "$T_TMP/hlay" <<'PY'
import json, sys, tarfile
root = sys.argv[1]
def blob(d): return open(root + "/blobs/sha256/" + d.split(":")[1], "rb")
idx = json.load(open(root + "/index.json"))
m = json.load(blob(idx["manifests"][0]["digest"]))
out = []
for l in m["layers"][-2:]:
    with tarfile.open(fileobj=blob(l["digest"])) as t:
        out += sorted(f"{i.name}->{i.linkname}" for i in t.getmembers() if i.islnk())
print(" ".join(out))
PY
)
is "$links" "d/b->d/a d/sub/c->d/a top/y->top/x" "hard links: the layers hold tar hard links"

# ---- FROM --platform: an index's entry for that platform; no RUN on a foreign arch
case $(uname -m) in x86_64) host=amd64 other=arm64 ;; aarch64) host=arm64 other=amd64 ;; *) host= ;; esac
if [ -n "$host" ]; then
	python3 - "$T_TMP/multi" "$host" "$other" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, archs = sys.argv[1], sys.argv[2:]
os.makedirs(root + "/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
entries = []
for arch in archs:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        body = (arch + "\n").encode()
        ti = tarfile.TarInfo("which"); ti.size = len(body); ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(body))
    tar = raw.getvalue()
    ld, ls = put(gzip.compress(tar, mtime=0))
    cfg = {"architecture": arch, "os": "linux", "config": {},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}
    cd, cs = put(json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]}
    md, ms = put(json.dumps(man).encode())
    entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                    "platform": {"architecture": arch, "os": "linux"}})
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
xd, xs = put(json.dumps(ix).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
           "digest": xd, "size": xs, "annotations": {"org.opencontainers.image.ref.name": "multi:1"}}]},
          open(root + "/index.json", "w"))
open(root + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
	tar -C "$T_TMP/multi" -cf "$T_TMP/multi.tar" .
	run "$BALE" load -i "$T_TMP/multi.tar"
	is "$T_RC" 0 "platform: load a two-platform index"
	printf 'ARG OTHER\nFROM --platform=$TARGETOS/$OTHER multi:1 AS foreign\nFROM --platform=$BUILDPLATFORM multi:1 AS native\nFROM scratch\nCOPY --from=foreign /which /foreign\nCOPY --from=native /which /native\n' >"$T_TMP/plat.Dockerfile"
	rm -rf "$T_TMP/plat"
	run "$BALE" build -q --network none -f "$T_TMP/plat.Dockerfile" --build-arg "OTHER=$other" \
		--output "type=local,dest=$T_TMP/plat" "$CTX"
	is "$T_RC" 0 "platform: FROM --platform with \$TARGETOS/\$OTHER and \$BUILDPLATFORM"
	[ "$T_RC" -eq 0 ] || diag "$T_ERR"
	is "$(content "$T_TMP/plat/foreign")" "$other" "platform: a foreign platform picks its manifest of the index"
	is "$(content "$T_TMP/plat/native")" "$host" "platform: \$BUILDPLATFORM picks this machine's"
	printf 'FROM --platform=linux/%s multi:1\nRUN true\n' "$other" >"$T_TMP/plat-run.Dockerfile"
	run "$BALE" build -q --network none -f "$T_TMP/plat-run.Dockerfile" -t platrun:1 "$CTX"
	[ "$T_RC" -ne 0 ]
	t_ok $? "platform: a RUN on a foreign architecture fails"
	like "$T_ERR" "plat-run.Dockerfile:2: RUN: .*linux/$other.*emulation" "platform: and says why, with the line"
	printf 'FROM --platform=linux/s390x multi:1\n' >"$T_TMP/plat-none.Dockerfile"
	run "$BALE" build -q --network none -f "$T_TMP/plat-none.Dockerfile" "$CTX"
	like "$T_ERR" "no manifest for that platform" "platform: an index without it is refused"
	printf 'FROM --platform=linux/%s scratch\nCOPY file.txt /\n' "$other" >"$T_TMP/plat-scratch.Dockerfile"
	run "$BALE" build -q --network none -f "$T_TMP/plat-scratch.Dockerfile" -t platscratch:1 "$CTX"
	run "$BALE" inspect platscratch:1
	like "$T_OUT" "\"[Aa]rchitecture\": *\"$other\"" "platform: FROM --platform scratch sets the config's platform"
fi

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
