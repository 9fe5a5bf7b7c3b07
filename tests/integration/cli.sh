#!/bin/sh
# The CLI skeleton: global options, dispatch, help, version, exit codes.
. "$top_srcdir/tests/integration/lib.sh"

run "$BALE" version
is "$T_RC" 0 "bale version exits 0"
like "$T_OUT" "^bale [0-9]+\.[0-9]+\.[0-9]+" "version line first"
like "$T_OUT" "commit: [0-9a-f]{12}|commit: unknown" "the commit"
for lib in libarchive openssl libcurl zstd libgit2 libyaml jansson libmicrohttpd libseccomp; do
	like "$T_OUT" "  $lib [0-9]" "reports $lib's version"
done

run "$BALE" version --short
like "$T_OUT" "^[0-9]+\.[0-9]+\.[0-9]+(-[0-9]+-g[0-9a-f]+|-untagged-g[0-9a-f]+)?(-dirty)?$" "version --short prints only the version"
run "$BALE" --version
like "$T_OUT" "^bale [0-9]" "--version is version"

run "$BALE" --help
is "$T_RC" 0 "--help exits 0"
like "$T_OUT" "^usage: bale " "--help prints usage on stdout"
like "$T_OUT" "  version +show bale's version" "and lists the commands with summaries"

run "$BALE" help bale
is "$T_RC" 0 "help bale exits 0"
like "$T_OUT" "^usage: bale \[--root DIR\]" "help bale prints bale(1)"
like "$T_OUT" "BALE_ROOT" "  with the environment it reads"
run "$BALE" help version
is "$T_RC" 0 "help CMD exits 0"
like "$T_OUT" "^usage: bale version" "help CMD prints that command's usage"
run "$BALE" version --help
like "$T_OUT" "^usage: bale version" "CMD --help is the same text"

run "$BALE" version --short --help
like "$T_OUT" "^usage: bale version" "--help after other options still prints help"
run "$BALE" help --short --help
is "$T_RC" 0 "help's own --help"
run "$BALE" version extra --help
is "$T_RC" 2 "--help after a non-option word is left to the command"

run "$BALE"
is "$T_RC" 2 "no command is a usage error"
like "$T_ERR" "usage: bale" "and shows the usage on stderr"

run "$BALE" frobnicate
is "$T_RC" 2 "an unknown command exits 2"
is "$T_ERR" "bale: 'frobnicate' is not a bale command
Try 'bale --help' for more information." "and names it"

run "$BALE" --bogus version
is "$T_RC" 2 "an unknown global option exits 2"
like "$T_ERR" "--bogus" "and names the option"

run "$BALE" --log-level loud version
is "$T_RC" 2 "a bad --log-level exits 2"
like "$T_ERR" "--log-level: .*loud" "naming the bad level"

run "$BALE" --log-level debug version --short
is "$T_RC" 0 "a valid --log-level is accepted"

run env BALE_LOG=chatty "$BALE" version
is "$T_RC" 2 "a bad BALE_LOG exits 2"
like "$T_ERR" "BALE_LOG" "naming the variable"

run "$BALE" version extra
is "$T_RC" 2 "an extra argument is a usage error"
like "$T_ERR" "^bale version: unexpected argument 'extra'" "named in the message"

run "$BALE" help nosuch
is "$T_RC" 2 "help for an unknown command exits 2"

run "$BALE" --root "" version
is "$T_RC" 2 "an empty --root is refused"

done_testing
