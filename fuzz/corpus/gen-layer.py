#!/usr/bin/env python3
"""Generate the seed corpus of fuzz/fuzz-layer.c in fuzz/corpus/layer/
(committed; rerun only to change it). Small layers, valid and hostile, in
each compression the applier detects: every entry type, whiteouts and
opaque markers, pax names and xattrs, and the tricks of testdata/hostile/.
Tars end right after their two zero blocks, so the seeds stay small.
Needs the zstd program for the .zst seeds.
"""
import gzip, io, os, subprocess, tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layer")


def info(name, typ=tarfile.REGTYPE, size=0, **kw):
    t = tarfile.TarInfo(name)
    t.type = typ
    t.size = size
    t.mode = kw.pop("mode", 0o755 if typ == tarfile.DIRTYPE else 0o644)
    t.mtime = 1700000000
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode="w", format=fmt)
    for e in entries:
        t, data = e if isinstance(e, tuple) else (e, None)
        tf.addfile(t, io.BytesIO(data) if data is not None else None)
    end = tf.offset
    tf.close()
    return buf.getvalue()[: end + 1024]


def save(name, raw):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(raw)


def zstd(raw):
    return subprocess.run(["zstd", "-3", "-q", "-c"], input=raw, stdout=subprocess.PIPE,
                          check=True).stdout


D, L, S, H, F = tarfile.DIRTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE

os.makedirs(OUT, exist_ok=True)
basic = tar([
    info("etc/", D),
    (info("etc/hosts", size=10), b"127.0.0.1\n"),
    info("etc/hosts.link", H, linkname="etc/hosts"),
    info("etc/sym", S, linkname="hosts"),
    info("run/", D, mode=0o1777),
    info("run/fifo", F),
    (info("bin/ping", size=2, mode=0o4755,
          pax_headers={"SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
                       "SCHILY.xattr.user.note": "x"}), b"#!"),
    (info("deep/" + "d/" * 40 + "f", size=1), b"f"),
    (info("long/" + "n" * 200, size=1), b"n"),
])
save("basic.tar", basic)
save("basic.tar.gz", gzip.compress(basic, 6, mtime=0))
save("basic.tar.zst", zstd(basic))
save("whiteouts.tar", tar([
    info("etc/", D),
    info("etc/.wh.hosts"),
    (info("etc/-early", size=1), b"e"),
    info("etc/.wh..wh..opq"),
    (info("etc/late", size=1), b"l"),
    info(".wh.run"),
    info(".wh..wh..opq"),
]))
save("reenter.tar", tar([
    info("a/", D, mode=0o555),
    (info("a.txt", size=1), b"t"),
    (info("a/x", size=1), b"x"),
    info("a/", D, mode=0o700),
]))
save("replace.tar", tar([
    (info("x", size=1), b"1"),
    info("x/", D),
    (info("x/y", size=1), b"2"),
    info("x", S, linkname="/"),
    (info("x/z", size=1), b"3"),
]))
save("gnu-longname.tar", tar([(info("g/" + "L" * 200, size=1), b"L")], fmt=tarfile.GNU_FORMAT))
save("ustar.tar", tar([info("u/", D), (info("u/f", size=3), b"abc")], fmt=tarfile.USTAR_FORMAT))
save("hostile-dotdot.tar", tar([(info("../evil", size=4), b"evil")]))
save("hostile-absolute.tar", tar([(info("/tmp/evil", size=4), b"evil")]))
save("hostile-hardlink-out.tar", tar([info("l", H, linkname="../../etc/passwd")]))
save("hostile-symlink-out.tar", tar([
    info("lnk", S, linkname="../../../outside"),
    (info("lnk/evil", size=4), b"evil"),
    info("abs", S, linkname="/"),
    (info("abs/evil2", size=4), b"evil"),
]))
save("hostile-hardlink-via-symlink.tar", tar([
    info("up", S, linkname=".."),
    info("hl", H, linkname="up/outside"),
]))
save("hostile-device.tar", tar([info("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)]))
save("hostile-whiteout.tar", tar([info("a/.wh.."), info(".wh.")]))
save("hostile-xattr-overlay.tar", tar([
    info("o/", D, pax_headers={"SCHILY.xattr.trusted.overlay.opaque": "y",
                               "SCHILY.xattr.user.overlay.redirect": "/x"}),
]))
bomb = tar([(info("zeros", size=2 << 20), bytes(2 << 20))])
save("hostile-bomb.tar.gz", gzip.compress(bomb, 9, mtime=0))
save("hostile-bomb.tar.zst", zstd(bomb))
save("truncated.tar", basic[:700])
save("truncated.tar.gz", gzip.compress(basic, 6, mtime=0)[:200])
save("empty", b"")
save("zeros", bytes(1024))
