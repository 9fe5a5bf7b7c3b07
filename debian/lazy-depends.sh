#!/bin/sh
# lazy-depends.sh CONFIG_H: print the Depends entries for the libraries bale
# dlopen()s, which dpkg-shlibdeps cannot see. For each soname configure
# found (BALE_SONAME_* in config.h) it takes the dependency the shlibs file
# of the package shipping it (BALE_PACKAGE_*) states, as dpkg-shlibdeps
# does for a linked library; else the bare package name.
set -eu
h=$1
libs=$(sed -n 's/^#define BALE_SONAME_\([A-Z0-9]*\) .*/\1/p' "$h")
[ -n "$libs" ] || { echo "lazy-depends.sh: $h: no BALE_SONAME_* (not bale's config.h?)" >&2; exit 1; }
for lib in $libs; do
	so=$(sed -n "s/^#define BALE_SONAME_$lib \"\(.*\)\"/\1/p" "$h")
	pkg=$(sed -n "s/^#define BALE_PACKAGE_$lib \"\(.*\)\"/\1/p" "$h")
	if [ -z "$pkg" ]; then
		echo "lazy-depends.sh: $h: configure found no package shipping $so" >&2
		exit 1
	fi
	name=${so%%.so.*}
	ver=${so#*.so.}
	dep=$(dpkg-query --control-show "$pkg" shlibs 2>/dev/null |
		awk -v n="$name" -v v="$ver" '$1 == n && $2 == v { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }')
	echo "${dep:-$pkg}"
done | sort -u | paste -sd, - | sed 's/,/, /g'
