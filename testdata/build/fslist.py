#!/usr/bin/env python3
"""List a rootfs tar (docker export, bale --output) as one line per entry:
path type mode uid:gid sha256|linktarget, sorted; paths docker's container
init layer adds are left out. Hard links are listed as the file they point to,
since a builder may store a copy instead."""
import hashlib
import sys
import tarfile

SKIP = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console",
        "dev/pts", "dev/shm", "proc", "sys", "dev", "etc/mtab"}


def main():
    out = []
    if len(sys.argv) > 1:
        t = tarfile.open(sys.argv[1], "r:*")
    else:
        t = tarfile.open(fileobj=sys.stdin.buffer, mode="r|*")
    with t:
        files = {}
        members = []
        for m in t:
            name = m.name.lstrip("./").rstrip("/")
            if name == "" or name in SKIP or any(name.startswith(s + "/") for s in SKIP if s in ("dev", "proc", "sys")):
                continue
            if m.isfile():
                f = t.extractfile(m)
                files[name] = hashlib.sha256(f.read()).hexdigest()
            members.append((name, m))
        for name, m in members:
            mode = "%04o" % (m.mode & 0o7777)
            own = "%d:%d" % (m.uid, m.gid)
            if m.isfile():
                out.append("%s f %s %s %s" % (name, mode, own, files[name]))
            elif m.islnk():
                target = m.linkname.lstrip("./")
                out.append("%s f %s %s %s" % (name, mode, own, files.get(target, "?")))
            elif m.issym():
                out.append("%s l - %s %s" % (name, own, m.linkname))
            elif m.isdir():
                out.append("%s d %s %s" % (name, mode, own))
            elif m.ischr() or m.isblk():
                out.append("%s %s %s %s %d,%d" % (name, "c" if m.ischr() else "b", mode, own, m.devmajor, m.devminor))
            elif m.isfifo():
                out.append("%s p %s %s" % (name, mode, own))
    for line in sorted(out):
        print(line)


main()
