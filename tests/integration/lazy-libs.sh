#!/bin/sh
# libarchive, libcurl, libgit2, libmicrohttpd and libcrypto are loaded on first use
# (common/lazylib.h): bale does not need them to start, a command that does
# not use them never maps them, one that does loads them, and a library that
# cannot be loaded is a clear error naming it and its package.
. "$top_srcdir/tests/integration/lib.sh"

# The sonames and packages configure found (config.h of this build).
define() { sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "$top_builddir/config.h"; }
LIBS="CURL GIT2 MHD ARCHIVE CRYPTO"
for l in $LIBS; do
	eval "SONAME_$l=\$(define BALE_SONAME_$l)"
	eval "PACKAGE_$l=\$(define BALE_PACKAGE_$l)"
done
soname() { eval "printf '%s' \"\$SONAME_$1\""; }
package() { eval "printf '%s' \"\$PACKAGE_$1\""; }

needed=$(readelf -d "$BALE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
like "$needed" "^libc\.so" "readelf lists bale's NEEDED libraries"
for l in $LIBS; do
	s=$(soname "$l")
	like "$s" '^lib.*\.so' "configure found the soname of $l: $s"
	case "
$needed
" in
	*"
$s
"*) t_ok 1 "bale does not link $s" ;;
	*) t_ok 0 "bale does not link $s" ;;
	esac
done

# LD_DEBUG=files: the dynamic loader names every object it maps.
loaded() { # loaded SONAME: was it mapped in the last run?
	grep -q "file=$1 \[0\]" "$T_TMP/err"
}
run env LD_DEBUG=files "$BALE" version --short
is "$T_RC" 0 "version --short runs"
if loaded libc.so.6; then t_ok 0 "LD_DEBUG shows the loaded libraries"; else
	t_ok 1 "LD_DEBUG shows the loaded libraries"; fi
for l in $LIBS; do
	s=$(soname "$l")
	if loaded "$s"; then t_ok 1 "version --short does not load $s"; else
		t_ok 0 "version --short does not load $s"; fi
done

run env LD_DEBUG=files "$BALE" version
is "$T_RC" 0 "version runs"
for l in $LIBS; do
	s=$(soname "$l")
	if loaded "$s"; then t_ok 0 "version loads $s"; else
		t_ok 1 "version loads $s"; fi
done

# A broken install: LD_LIBRARY_PATH puts a file the loader cannot use first
# in the search path of one library at a time. `bale version` asks each
# library its version, so it reaches every one of them.
mkdir -p "$T_TMP/lib"
for l in $LIBS; do
	s=$(soname "$l")
	p=$(package "$l")
	: >"$T_TMP/lib/$s"
	run env LD_LIBRARY_PATH="$T_TMP/lib" "$BALE" version
	is "$T_RC" 1 "an unloadable $s exits 1"
	want="^bale: cannot load $s: .*$s: file too short; install ${p:-the package that ships $s}\$"
	# libcrypto is also a dependency of libgit2, which `version` loads
	# first: the message then names libgit2, whose load failed on it.
	[ "$l" = CRYPTO ] && want="^bale: cannot load lib[^:]*: .*$s: file too short; install "
	like "$T_ERR" "$want" \
		"and names the library, why and what to install"
	rm -f "$T_TMP/lib/$s"
done

# A library of that name without the functions bale calls (another real
# library under its name: as if an incompatible version were installed).
other=$(ldd "$BALE" | awk '$1 == "libz.so.1" { print $3 }')
if [ -f "$other" ]; then
	s=$(soname CURL)
	cp "$other" "$T_TMP/lib/$s"
	run env LD_LIBRARY_PATH="$T_TMP/lib" "$BALE" version
	is "$T_RC" 1 "a $s without curl's functions exits 1"
	like "$T_ERR" "^bale: cannot load curl_[a-z_]+ from $s: .*undefined symbol: curl_[a-z_]+; install " \
		"and names the missing function"
	rm -f "$T_TMP/lib/$s"
else
	diag "no libz.so.1 in ldd's answer: the missing-function case is not run"
fi

done_testing
