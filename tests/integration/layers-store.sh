#!/bin/sh
# The local store end to end: import a busybox rootfs, list, inspect, tag,
# rmi (with a derived image), prune, save/load; and real peers reading
# $BALE_ROOT: skopeo (oci: and oci-archive:) and umoci.
. "$top_srcdir/tests/integration/lib.sh"

export BALE_ROOT="$T_TMP/root"
export SOURCE_DATE_EPOCH=1700000000
sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar"
[ $? -eq 77 ] && skip_all "no static busybox (apt-get install busybox-static)"

run "$BALE" import "$T_TMP/rootfs.tar" busybox:1
t_ok $T_RC "import a rootfs tarball"
like "$T_OUT" '^sha256:[0-9a-f]{64}$' "import prints the manifest digest"
D1=$T_OUT
gzip -c "$T_TMP/rootfs.tar" >"$T_TMP/rootfs.tar.gz"
run "$BALE" import "$T_TMP/rootfs.tar.gz" busybox:gz
is "$T_OUT" "$D1" "a gzipped tarball gives the same image (SOURCE_DATE_EPOCH)"
run "$BALE" --root "$T_TMP/other" import --compression zstd "$T_TMP/rootfs.tar" busybox:z
t_ok $T_RC "--root overrides BALE_ROOT (zstd import)"
test -f "$T_TMP/other/index.json" && ! grep -q busybox:z "$BALE_ROOT/index.json"
t_ok $? "the image went to --root"

run "$BALE" images
like "$T_OUT" 'busybox +1 +[0-9a-f]{12} ' "images lists busybox:1"
"$BALE" tag busybox:1 registry.example.com:5000/a-rather-long/repository-name:v1.2.3-long-tag
run "$BALE" images
col=$(printf '%s\n' "$T_OUT" | head -n 1 | awk '{ print index($0, "IMAGE ID") }')
bad=$(printf '%s\n' "$T_OUT" | tail -n +2 | awk -v c="$col" 'substr($0, c, 12) !~ /^[0-9a-f]+$/ { print }')
is "$bad" "" "images: columns widen to the longest name, ids aligned under IMAGE ID"
like "$T_OUT" '(seconds|minutes|hours|days|weeks|months|years) ago|About an? (minute|hour) ago|Less than a second ago' \
	"images: CREATED reads as docker's"
"$BALE" rmi registry.example.com:5000/a-rather-long/repository-name:v1.2.3-long-tag >/dev/null
run "$BALE" images --format json
like "$T_OUT" '"Repository":"busybox","Tag":"1","ID":"sha256:' "images --format json"
grep -q '"org.opencontainers.image.ref.name":"busybox:1"' "$BALE_ROOT/index.json"
t_ok $? "index.json names the image with ref.name"
test "$(cat "$BALE_ROOT/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}'
t_ok $? "oci-layout"

run "$BALE" tag busybox:1 app:1
t_ok $T_RC "tag"
run "$BALE" inspect app:1
like "$T_OUT" '"RepoTags": \[' "inspect prints JSON"
like "$T_OUT" '"busybox:1"' "inspect lists every name of the image"
like "$T_OUT" '"diff_ids"' "inspect shows the config"
run "$BALE" inspect nope:1
is "$T_RC" 1 "inspect of an unknown image fails"
like "$T_ERR" "no such image: 'nope:1'" "and says which"

# skopeo and umoci read the store as an OCI layout
if command -v skopeo >/dev/null; then
	run skopeo copy "oci:$BALE_ROOT:app:1" "dir:$T_TMP/skdir"
	t_ok $T_RC "skopeo copy oci:\$BALE_ROOT:app:1 dir:"
	run skopeo copy "oci:$BALE_ROOT:app:1" "oci-archive:$T_TMP/sk.tar:app:2"
	t_ok $T_RC "skopeo copy to oci-archive"
	run "$BALE" load -i "$T_TMP/sk.tar"
	is "$T_OUT" "Loaded image: app:2" "bale load reads skopeo's oci-archive"
	run "$BALE" inspect app:2
	like "$T_OUT" "\"Digest\": \"$D1\"" "same manifest digest after the round trip"
	run "$BALE" save --format oci-archive -o "$T_TMP/bale-oci.tar" app:1
	t_ok $T_RC "save --format oci-archive"
	run skopeo inspect "oci-archive:$T_TMP/bale-oci.tar:app:1"
	like "$T_OUT" "\"Digest\": \"$D1\"" "skopeo reads bale's oci-archive"
else
	diag "skopeo not installed: skopeo checks not run"
fi
if command -v umoci >/dev/null; then
	run umoci ls --layout "$BALE_ROOT"
	like "$T_OUT" "app:1" "umoci ls lists the store"
	run umoci unpack --rootless --image "$BALE_ROOT:app:1" "$T_TMP/bundle"
	t_ok $T_RC "umoci unpack"
	test -x "$T_TMP/bundle/rootfs/bin/busybox"
	t_ok $? "umoci unpacked the rootfs"
else
	diag "umoci not installed: umoci checks not run"
fi

# save / load docker-archive round trip
run "$BALE" save -o "$T_TMP/bb.tar" busybox:1
t_ok $T_RC "save docker-archive"
tar -tf "$T_TMP/bb.tar" | grep -q '^manifest.json$'
t_ok $? "docker-archive has manifest.json"
run "$BALE" --root "$T_TMP/r2" load -i "$T_TMP/bb.tar"
is "$T_OUT" "Loaded image: busybox:1" "load docker-archive"
ID1=$("$BALE" inspect busybox:1 | grep '"Id"')
ID2=$("$BALE" --root "$T_TMP/r2" inspect busybox:1 | grep '"Id"')
is "$ID2" "$ID1" "same image id after save/load"

# a derived image (busybox + one layer) as an oci-archive made by hand
L="$T_TMP/derived"
mkdir -p "$L/blobs/sha256" "$L/c"
echo hello >"$L/c/hello.txt"
tar -C "$L/c" --mtime=@1700000000 --owner=0 --group=0 -cf "$L/l2.tar" hello.txt
DIFF2=$(sha256sum <"$L/l2.tar" | cut -d' ' -f1)
gzip -n -c "$L/l2.tar" >"$L/l2.tgz"
BLOB2=$(sha256sum <"$L/l2.tgz" | cut -d' ' -f1)
cp "$L/l2.tgz" "$L/blobs/sha256/$BLOB2"
MAN1=$(cat "$BALE_ROOT/blobs/sha256/${D1#sha256:}")
CFG1D=$(printf '%s' "$MAN1" | sed 's/.*"config":{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/')
L1=$(printf '%s' "$MAN1" | sed 's/.*"layers":\[\({[^]]*}\)\].*/\1/')
sed "s/\"diff_ids\":\[\([^]]*\)\]/\"diff_ids\":[\1,\"sha256:$DIFF2\"]/" \
	"$BALE_ROOT/blobs/sha256/$CFG1D" >"$L/cfg"
CFGD=$(sha256sum <"$L/cfg" | cut -d' ' -f1)
cp "$L/cfg" "$L/blobs/sha256/$CFGD"
cp "$BALE_ROOT/blobs/sha256/$(printf '%s' "$L1" | sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/')" "$L/blobs/sha256/"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s,{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$CFGD" "$(wc -c <"$L/cfg")" "$L1" "$BLOB2" "$(wc -c <"$L/l2.tgz")" >"$L/man"
MAND=$(sha256sum <"$L/man" | cut -d' ' -f1)
cp "$L/man" "$L/blobs/sha256/$MAND"
printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"derived:1"}}]}' \
	"$MAND" "$(wc -c <"$L/man")" >"$L/index.json"
tar -C "$L" -cf "$T_TMP/derived.tar" oci-layout index.json blobs
run "$BALE" load -i "$T_TMP/derived.tar"
is "$T_OUT" "Loaded image: derived:1" "load a derived image"

run "$BALE" rmi busybox:1
t_ok $T_RC "rmi of one of several names of an image succeeds"
run "$BALE" rmi busybox:gz app:1
is "$T_RC" 0 "untag app:1 and busybox:gz (app:2 still names the image)"
run "$BALE" rmi app:2
is "$T_RC" 1 "rmi refuses the last name of a base image"
like "$T_ERR" "in use as a base of 'derived:1'" "and names the child"
NBLOBS=$(ls "$BALE_ROOT/blobs/sha256" | wc -l)
run "$BALE" rmi derived:1
t_ok $T_RC "rmi the child"
like "$T_OUT" "Deleted [0-9]+ unused blobs" "rmi removes blobs nobody uses"
test ! -e "$BALE_ROOT/blobs/sha256/$BLOB2" && test ! -e "$BALE_ROOT/blobs/sha256/$MAND"
t_ok $? "the child's layer and manifest are gone"
run "$BALE" rmi app:2
t_ok $T_RC "now the base can go"
is "$(ls "$BALE_ROOT/blobs/sha256" | wc -l)" 0 "no blob left"
run "$BALE" load -i "$T_TMP/derived.tar"
run "$BALE" rmi --force derived:1
t_ok $T_RC "rmi --force"

# prune: a name moved away leaves a dangling image
run "$BALE" import "$T_TMP/rootfs.tar" x:1
echo extra >"$T_TMP/rootfs/extra"
tar -C "$T_TMP/rootfs" -cf "$T_TMP/rootfs2.tar" .
run "$BALE" import "$T_TMP/rootfs2.tar" x:1
run "$BALE" images
like "$T_OUT" '<none> +<none>' "the old image is listed as <none>"
run "$BALE" prune
like "$T_OUT" 'Deleted 1 untagged images and 3 blobs' "prune removes it and its blobs"
run "$BALE" images
! printf '%s' "$T_OUT" | grep -q '<none>'
t_ok $? "no dangling image left"

run "$BALE" load -i "$T_TMP/rootfs.tar"
is "$T_RC" 1 "load of a plain rootfs tar fails"
like "$T_ERR" "neither manifest.json nor index.json" "and says why"
done_testing
