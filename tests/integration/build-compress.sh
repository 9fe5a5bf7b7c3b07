#!/bin/sh
# Layers stay uncompressed in the store and are compressed when the image
# leaves: bale build stores plain tars (digest = diff_id), bale push gzips
# them (docker pulls and runs the result), a second push compresses
# nothing, --compression zstd, oci and oci-archive outputs (skopeo reads
# them), copies to the local store keep them, and rmi/prune keep the
# store's map of compressed blobs consistent.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/registry-lib.sh"

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || skip_all "no Debian docker client at $DOCKER (apt-get install docker.io)"
"$DOCKER" info >/dev/null 2>&1 || skip_all "dockerd does not answer (start it with start-dockerd.sh)"
command -v skopeo >/dev/null || skip_all "no skopeo (apt-get install skopeo)"
command -v zstd >/dev/null || skip_all "no zstd (apt-get install zstd)"
command -v python3 >/dev/null || skip_all "no python3"
export BALE_ROOT="$T_TMP/root"
sh "$top_srcdir/testdata/rootfs/make-busybox-rootfs.sh" "$T_TMP/rootfs" "$T_TMP/rootfs.tar" >/dev/null 2>&1
case $? in 0) ;; 77) skip_all "no static busybox (apt-get install busybox-static)" ;; *) exit 1 ;; esac

start_registry --root "$T_TMP/reg" || skip_all "bale serve did not start"
REF="$REG/bale-compress-$$/app:1"
trap 'stop_registry; "$DOCKER" rmi -f "$REF" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT

# Checks of an image's manifest, config and layer blobs, fetched from a
# registry (reg REG REPO REF) or read from an OCI layout (oci DIR): every
# layer of the wanted kind (tar, gzip or zstd) and decompressing to the
# config's diff_id. Prints "ok N" or what is wrong.
cat >"$T_TMP/check.py" <<'E'
import gzip, hashlib, json, os, subprocess, sys, urllib.request
kind, want = sys.argv[1], sys.argv[-1]
if kind == "reg":
    reg, repo, ref = sys.argv[2:5]
    def get(path, accept=None):
        req = urllib.request.Request("http://%s/v2/%s/%s" % (reg, repo, path))
        if accept:
            req.add_header("Accept", accept)
        return urllib.request.urlopen(req).read()
    man = json.loads(get("manifests/" + ref, "application/vnd.oci.image.manifest.v1+json, "
                         "application/vnd.docker.distribution.manifest.v2+json"))
    blob = lambda d: get("blobs/" + d)
else:
    root = sys.argv[2]
    blob = lambda d: open(os.path.join(root, "blobs", "sha256", d.split(":")[1]), "rb").read()
    ix = json.load(open(os.path.join(root, "index.json")))
    man = json.loads(blob(ix["manifests"][0]["digest"]))
cfg = json.loads(blob(man["config"]["digest"]))
diffs = cfg["rootfs"]["diff_ids"]
bad = []
for i, l in enumerate(man["layers"]):
    data = blob(l["digest"])
    mt = l["mediaType"]
    if "sha256:" + hashlib.sha256(data).hexdigest() != l["digest"] or len(data) != l["size"]:
        bad.append("layer %d: blob does not match its descriptor" % i)
    if want == "gzip" and (mt.endswith("gzip")) and data[:2] == b"\x1f\x8b":
        tar = gzip.decompress(data)
    elif want == "zstd" and mt.endswith("+zstd") and data[:4] == b"\x28\xb5\x2f\xfd":
        tar = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    elif want == "tar" and (mt.endswith(".tar") or mt.endswith("diff.tar")):
        tar = data
    else:
        bad.append("layer %d: %s is not %s" % (i, mt, want))
        continue
    if "sha256:" + hashlib.sha256(tar).hexdigest() != diffs[i]:
        bad.append("layer %d: decompressed, not its diff_id" % i)
print("; ".join(bad) if bad else "ok %d" % len(man["layers"]))
E
chk() { python3 "$T_TMP/check.py" "$@" 2>&1; }
# Manifest digest of a stored image, and its layers as "mediaType digest diffid".
mdigest() { "$BALE" inspect "$1" | sed -n 's/^ *"Digest": "\(sha256:[0-9a-f]*\)",$/\1/p' | head -n 1; }
layers() {
	"$BALE" inspect "$1" | python3 -c 'import json,sys
for l in json.load(sys.stdin)[0]["Layers"]: print(l["MediaType"], l["Digest"], l["DiffID"])'
}
# What a re-push could have changed: the map and the blobs, with mtimes.
snapshot() { (cd "$BALE_ROOT" && find compressed blobs -type f -printf '%p %s %T@\n' | sort); }

# The base is imported uncompressed too, so that every layer of the
# image is one the build or the push compresses.
"$BALE" import --compression none "$T_TMP/rootfs.tar" base:1 >/dev/null
mkdir -p "$T_TMP/ctx"
echo "hello from bale" >"$T_TMP/ctx/msg"
cat >"$T_TMP/ctx/Containerfile" <<'E'
FROM base:1
COPY msg /msg
RUN head -c 2000000 /dev/zero > /zeros && echo built > /built
CMD ["/bin/sh", "-c", "cat /msg /built; wc -c < /zeros"]
E

# ---- build: plain tars in the store
run "$BALE" build -q --network none --source-date-epoch 0 -t app:1 "$T_TMP/ctx"
is "$T_RC" 0 "build"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
L=$(layers app:1)
is "$(echo "$L" | awk '$1 == "application/vnd.oci.image.layer.v1.tar" && $2 == $3' | wc -l)" 3 \
	"every layer is stored as a plain tar, its digest its diff_id"
RUNL=$(echo "$L" | sed -n 3p | cut -d' ' -f2)
run tar -tf "$BALE_ROOT/blobs/sha256/${RUNL#sha256:}"
like "$T_OUT" '^built$' "the RUN layer's blob is a tar"
M1=$(mdigest app:1)
run "$BALE" build -q --no-cache --network none --source-date-epoch 0 -t app:again "$T_TMP/ctx"
is "$(mdigest app:again)" "$M1" "a rebuild without cache gives the same manifest"
run "$BALE" images
like "$T_OUT" 'app +1 ' "bale images lists it"
run "$BALE" build --progress plain --network none --source-date-epoch 0 -t app:1 "$T_TMP/ctx"
is "$(printf '%s\n' "$T_ERR" | grep -c 'CACHED')" 2 "a second build takes both layers from the cache"
run "$BALE" build --progress plain --format docker --network none --source-date-epoch 0 \
	-t app:docker "$T_TMP/ctx"
is "$(printf '%s\n' "$T_ERR" | grep -c 'CACHED')" 2 "--format docker takes the OCI build's layers from the cache"
is "$(layers app:docker | awk '$1 == "application/vnd.docker.image.rootfs.diff.tar"' | wc -l)" 3 \
	"  and names every layer, base and cached ones too, with Docker's type"

# ---- push: gzip layers that decompress to the diff_ids; docker runs it
run "$BALE" push --progress plain app:1 "$REF"
is "$T_RC" 0 "push"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
is "$(printf '%s\n' "$T_ERR" | grep -c ' compress: gzip')" 3 "it compresses the three layers"
PUSHED=$T_OUT
is "$(chk reg "$REG" "bale-compress-$$/app" 1 gzip)" "ok 3" \
	"the registry has gzip layers that decompress to the config's diff_ids"
is "$(layers app:1 | awk '$1 ~ /tar$/' | wc -l)" 3 "the stored image still has plain tars"
"$DOCKER" rmi -f "$REF" >/dev/null 2>&1
run "$DOCKER" pull -q "$REF"
is "$T_RC" 0 "docker pulls it"
[ "$T_RC" -eq 0 ] || diag "$T_ERR"
run "$DOCKER" run --rm --network none "$REF"
is "$T_OUT" "hello from bale
built
2000000" "and runs it"

# ---- a second push compresses nothing
S1=$(snapshot)
run "$BALE" push --progress plain app:1 "$REF"
is "$T_OUT" "$PUSHED" "pushing again gives the same digest"
is "$(printf '%s\n' "$T_ERR" | grep -c ' compress:')" 0 "and compresses nothing"
is "$(snapshot)" "$S1" "the map and the blobs are untouched"
# Another image with the same layers: they exist in the registry.
printf 'FROM app:1\nLABEL second=yes\n' >"$T_TMP/ctx/Containerfile.2"
"$BALE" build -q --network none -f "$T_TMP/ctx/Containerfile.2" -t app:2 "$T_TMP/ctx" >/dev/null
run "$BALE" push --progress plain app:2 "$REG/bale-compress-$$/app:2"
is "$T_RC" 0 "push of an image sharing the layers"
is "$(printf '%s\n' "$T_ERR" | grep -c ' compress:')" 0 "compresses nothing"
is "$(printf '%s\n' "$T_ERR" | grep -c 'layer: exists')" 3 "and finds its layers in the registry"

# ---- the same bytes as a build that compresses
run "$BALE" build -q --network none --source-date-epoch 0 --compression gzip -t gz:1 "$T_TMP/ctx"
is "$(layers gz:1 | awk '$1 ~ /gzip$/' | wc -l)" 2 "build --compression gzip stores its layers gzipped"
run "$BALE" push -q gz:1 "$REG/bale-compress-$$/gz:1"
is "$T_OUT" "$PUSHED" "the same bytes: pushed, it is the manifest the first push wrote"

# ---- --compression zstd on push, none on push
run "$BALE" push -q --compression zstd app:1 "$REG/bale-compress-$$/zstd:1"
is "$T_RC" 0 "push --compression zstd"
is "$(chk reg "$REG" "bale-compress-$$/zstd" 1 zstd)" "ok 3" "zstd layers that decompress to the diff_ids"
run "$BALE" push -q --compression none app:1 "$REG/bale-compress-$$/plain:1"
is "$T_OUT" "$M1" "push --compression none sends the manifest as stored"
is "$(chk reg "$REG" "bale-compress-$$/plain" 1 tar)" "ok 3" "with plain tars"
run "$BALE" push -q --compression brotli app:1 "$REG/bale-compress-$$/x:1"
is "$T_RC" 2 "an unknown --compression is a usage error"

# ---- outputs: oci and oci-archive gzip (skopeo reads them), docker-archive loads
run "$BALE" build -q --network none --source-date-epoch 0 -t app:1 \
	-o "type=oci-archive,dest=$T_TMP/app.tar" -o "type=oci,dest=$T_TMP/oci" \
	-o "type=docker-archive,dest=$T_TMP/docker.tar" "$T_TMP/ctx"
is "$T_RC" 0 "build with oci, oci-archive and docker-archive outputs"
is "$(chk oci "$T_TMP/oci" gzip)" "ok 3" "the oci layout has gzip layers that decompress to the diff_ids"
run skopeo inspect --raw "oci-archive:$T_TMP/app.tar"
is "$(printf '%s' "$T_OUT" | sha256sum | sed 's/^/sha256:/; s/ .*//')" "$PUSHED" \
	"skopeo reads the oci-archive: the manifest pushed"
run skopeo copy -q "oci-archive:$T_TMP/app.tar" "oci:$T_TMP/sk:x"
is "$T_RC" 0 "skopeo copies it"
is "$(chk oci "$T_TMP/sk" gzip)" "ok 3" "as gzip layers"
"$DOCKER" rmi -f app:1 >/dev/null 2>&1
run "$DOCKER" load -i "$T_TMP/docker.tar"
is "$T_RC" 0 "docker loads the docker-archive"
run "$DOCKER" run --rm --network none app:1
is "$T_OUT" "hello from bale
built
2000000" "and runs it"
"$DOCKER" rmi -f app:1 >/dev/null 2>&1

# ---- copy: oci gzips, local keeps, --compression none keeps
run "$BALE" copy -q local:app:1 "oci:$T_TMP/cp:v1"
is "$T_OUT" "$PUSHED" "copy to oci: gzips (as skopeo does)"
run "$BALE" copy -q --compression none local:app:1 "oci:$T_TMP/cpn:v1"
is "$T_OUT" "$M1" "copy --compression none keeps the layers"
run "$BALE" copy -q local:app:1 local:copy:1
is "$T_OUT" "$M1" "copy to the local store keeps them"
run "$BALE" copy -q "oci:$T_TMP/cpn:v1" "$REG/bale-compress-$$/fromoci:1"
is "$T_OUT" "$PUSHED" "copy from an uncompressed oci layout to a registry gzips"

# ---- rmi and prune keep the map consistent
ls "$BALE_ROOT/compressed/gzip-6" >"$T_TMP/entries"
is "$(wc -l <"$T_TMP/entries")" 3 "the map has the three gzip layers"
"$BALE" rmi app:2 copy:1 gz:1 app:again app:docker >/dev/null
run "$BALE" prune
is "$(ls "$BALE_ROOT/compressed/gzip-6" | wc -l)" 3 "entries stay while their layers are in an image"
for e in $(cat "$T_TMP/entries"); do
	b=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' "$BALE_ROOT/compressed/gzip-6/$e")
	[ -f "$BALE_ROOT/blobs/sha256/$b" ] || echo "$e: blob $b gone"
done >"$T_TMP/gone"
is "$(cat "$T_TMP/gone")" "" "and so do their blobs"
# A compressed blob removed behind bale's back is made again.
b=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' "$BALE_ROOT/compressed/gzip-6/$(head -n 1 "$T_TMP/entries")")
rm -f "$BALE_ROOT/blobs/sha256/$b"
run "$BALE" push --progress plain app:1 "$REG/bale-compress-$$/again:1"
is "$T_OUT" "$PUSHED" "a push after a compressed blob went missing"
is "$(printf '%s\n' "$T_ERR" | grep -c ' compress: gzip')" 1 "compresses that layer again"
"$BALE" rmi app:1 >/dev/null
run "$BALE" prune
# The build cache still names app:1's layers: their entries stay...
is "$(ls "$BALE_ROOT/compressed/gzip-6" | wc -l)" 3 "rmi of the last image keeps what the build cache uses"
# ...until the cache is forgotten too.
run "$BALE" prune --build-cache
BASEL=$(layers base:1 | cut -d' ' -f2)
is "$(ls "$BALE_ROOT/compressed/gzip-6" "$BALE_ROOT/compressed/zstd-3")" \
	"$(printf '%s:\n%s\n\n%s:\n%s' "$BALE_ROOT/compressed/gzip-6" "sha256-${BASEL#sha256:}" \
		"$BALE_ROOT/compressed/zstd-3" "sha256-${BASEL#sha256:}")" \
	"prune --build-cache drops the map's entries but base:1's layer's"
is "$(ls "$BALE_ROOT/blobs/sha256" | wc -l)" 5 \
	"and the blobs but base:1's and its layer's gzip and zstd"

done_testing
