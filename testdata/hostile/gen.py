#!/usr/bin/env python3
"""Generate the hostile layers of testdata/hostile/ (committed; rerun only to
change them). Each starts with a benign entry, so a test can check that a
refused layer wrote nothing at all. tests/unit/layers/test-hostile.c applies
every one and knows the expected outcome from the file name's prefix:
  refuse-*   must be refused, naming the entry given in EXPECT below
  contain-*  must apply, with nothing written outside the target
"""
import gzip, io, os, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def info(name, typ=tarfile.REGTYPE, size=0, **kw):
    t = tarfile.TarInfo(name)
    t.type = typ
    t.size = size
    t.mode = kw.pop("mode", 0o644)
    t.mtime = 1700000000
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def write(name, entries, fmt=tarfile.PAX_FORMAT, compress=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        tf.addfile(info("benign.txt", size=6), io.BytesIO(b"benign"))
        for e in entries:
            t, data = e if isinstance(e, tuple) else (e, None)
            tf.addfile(t, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if compress == "gz":
        raw = gzip.compress(raw, 9, mtime=0)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(raw)


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.n = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.n)
        b[:k] = bytes(k)
        self.n -= k
        return k


def bomb(name, size):
    """A gzip of a tar holding one file of `size` zero bytes, streamed."""
    path = os.path.join(HERE, name)
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            tf.addfile(info("benign.txt", size=6), io.BytesIO(b"benign"))
            tf.addfile(info("zeros.bin", size=size), io.BufferedReader(Zeros(size)))


write("refuse-dotdot.tar", [(info("../evil", size=4), b"evil")])
write("refuse-dotdot-nested.tar", [(info("a/b/../../../evil", size=4), b"evil")])
write("refuse-absolute.tar", [(info("/tmp/bale-hostile-evil", size=4), b"evil")])
write("refuse-hardlink-dotdot.tar", [info("link", tarfile.LNKTYPE, linkname="../../../etc/passwd")])
write("refuse-hardlink-absolute.tar", [info("link", tarfile.LNKTYPE, linkname="/etc/passwd")])
write("refuse-whiteout-dotdot.tar", [info("a/.wh..", size=0)])
write("refuse-device.tar", [info("dev/evil", tarfile.CHRTYPE, devmajor=1, devminor=1)])
write("refuse-longname.tar", [(info("a" * 5000, size=1), b"x")])
write("refuse-pax-huge.tar.gz",
      [(info("big-pax", size=1, pax_headers={"comment": "x" * (768 << 10)}), b"x")], compress="gz")
bomb("refuse-bomb.tar.gz", 64 << 20)  # 64 MiB of zeros: refused with a 16 MiB cap
write("refuse-dotdot.tar.gz", [(info("../evil", size=4), b"evil")], compress="gz")
# Symlinks that point out of the root are followed inside it: contained.
write("contain-symlink-absolute.tar",
      [info("lnk", tarfile.SYMTYPE, linkname="/tmp/bale-hostile-out"),
       (info("lnk/evil", size=4), b"evil")])
write("contain-symlink-dotdot.tar",
      [info("lnk", tarfile.SYMTYPE, linkname="../../../../../tmp/bale-hostile-out"),
       (info("lnk/evil", size=4), b"evil")])
write("contain-hardlink-via-symlink.tar",
      [info("lnk", tarfile.SYMTYPE, linkname="/etc"),
       info("stolen", tarfile.LNKTYPE, linkname="lnk/passwd")])
# Overlay xattrs smuggled in a layer must not be set on the target.
write("contain-xattr-overlay.tar",
      [info("d/", tarfile.DIRTYPE, mode=0o755,
            pax_headers={"SCHILY.xattr.trusted.overlay.opaque": "y"}),
       (info("d/f", size=1, pax_headers={"SCHILY.xattr.user.overlay.redirect": "/etc",
                                          "SCHILY.xattr.user.ok": "1"}), b"x")])
