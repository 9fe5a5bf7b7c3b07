#!/bin/sh
# zsh completion (contrib/completion/_bale) against the built bale: an
# interactive zsh in a pseudo-terminal (zsh/zpty) loads _bale through
# $fpath and compinit as a user's shell does, each line is typed with a TAB,
# and every match completion adds (each compadd call) is recorded.
. "$top_srcdir/tests/integration/lib.sh"

command -v zsh >/dev/null 2>&1 || skip_all "zsh is not installed"
zsh -fc 'zmodload zsh/zpty' 2>/dev/null || skip_all "zsh has no zsh/zpty module"
unset BALE_ROOT
export HOME="$T_TMP/home" XDG_DATA_HOME="$T_TMP/home/data"
mkdir -p "$HOME"
root=$T_TMP/root
mkdir -p "$T_TMP/fs" && echo hi >"$T_TMP/fs/hello" && tar -C "$T_TMP/fs" -cf "$T_TMP/fs.tar" .
for n in alpha:1 alpha:latest reg.local:5000/team/beta:2; do
	"$BALE" --root "$root" import "$T_TMP/fs.tar" "$n" >/dev/null || echo "Bail out! bale import $n failed"
done
mkdir -p "$T_TMP/work/ctx" "$T_TMP/work/cache" && : >"$T_TMP/work/Containerfile"

# The user's shell: compinit with _bale's directory first in $fpath, and a
# compadd that appends what each call adds to $CAPTURE (calls that only
# fill arrays, -O/-A/-D, add nothing). ^X^D marks a line as done.
mkdir -p "$T_TMP/zdot"
cat >"$T_TMP/zdot/.zshrc" <<'EOF'
PS1='' PROMPT='' RPS1='' RPROMPT=''
fpath=("$COMPDIR" $fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-prompt ''
LISTMAX=100000
compadd() {
	if ((!${@[(I)-[OAD]]})); then
		local -a __m
		builtin compadd -O __m "$@"
		(($#__m)) && print -rl -- "${(@)__m}" >>"$CAPTURE"
	fi
	builtin compadd "$@"
}
_test_done() { print -r -- '<done>' >>"$CAPTURE"; }
zle -N _test_done
bindkey '^X^D' _test_done
print -r -- '<ready>' >>"$CAPTURE"
EOF
# drive.zsh LINE...: one output line per LINE, its matches sorted and
# joined by spaces.
cat >"$T_TMP/drive.zsh" <<'EOF'
zmodload zsh/zpty
: >$CAPTURE
zpty z env ZDOTDIR=$ZDOT TERM=dumb zsh -i
waitfor() {
	local n=0 out
	while ! grep -qx -- "$1" $CAPTURE 2>/dev/null; do
		zpty -rt z out 2>/dev/null
		((++n > 1000)) && { print -u2 "timed out waiting for $1"; return 1 }
		sleep 0.01
	done
}
waitfor '<ready>' || exit 1
for q in "$@"; do
	: >$CAPTURE
	zpty -w -n z "$q"$'\t\C-x\C-d'
	waitfor '<done>' || exit 1
	print -r -- "${(j: :)${(@ou)${(@f)$(grep -vx '<done>' $CAPTURE)}}}"
	zpty -w -n z $'\C-u'
done
zpty -d z
EOF

set -- \
	'bale bu' \
	'bale ' \
	'bale --' \
	'bale build --' \
	'bale build --network ' \
	'bale build --network=n' \
	'bale --log-level ' \
	"bale --root $root rmi " \
	"bale --root=$root inspect a" \
	'bale rmi ' \
	'bale build -f C' \
	'bale build ' \
	'bale help bu' \
	"bale --root $root copy " \
	'bale copy oci-archive:Con' \
	"bale --root $root copy local:a" \
	'bale push --tls'
out=$(cd "$T_TMP/work" && PATH=$(dirname "$BALE"):$PATH CAPTURE=$T_TMP/capture ZDOT=$T_TMP/zdot \
	COMPDIR=$top_srcdir/contrib/completion zsh -f "$T_TMP/drive.zsh" "$@")
is "$?" 0 "zsh completed every line"
got() { printf '%s\n' "$out" | sed -n "${1}p"; }
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }

is "$(got 1)" "build" "a command from its prefix"
is "$(got 2)" "$(sorted $("$BALE" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'))" \
	"every command of bale --help"
is "$(got 3)" "$(sorted $("$BALE" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u))" "the global options"
want=$(sorted $({
	"$BALE" build --help | awk '/^usage:/ { u = 1 } u && /^$/ { exit } u'
	"$BALE" build --help | sed -n '/^OPTIONS$/,/^[A-Z]/p' | grep -E '^ {2,6}-' | sed -E 's/^ +//; s/  .*//'
} | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u))
is "$(got 4)" "$want" "build's long options, as its help lists them"
is "$(got 5)" "host none" "--network: the choices host|none"
is "$(got 6)" "none" "--network=n"
is "$(got 7)" "debug error info trace warn" "--log-level: the levels its description lists"
is "$(got 8)" "alpha:1 alpha:latest reg.local:5000/team/beta:2" "rmi: the images of --root"
is "$(got 9)" "alpha:1 alpha:latest" "inspect: the images of --root=DIR"
# The default store is the machine's (/var/lib/bale for root).
is "$(got 10)" "$(sorted $("$BALE" images --format names))" "no --root: the default store's names"
is "$(got 11)" "Containerfile" "files after -f"
is "$(got 12)" "cache ctx" "build's CONTEXT: directories only"
is "$(got 13)" "build" "help COMMAND: command names"
is "$(got 14)" "$(sorted alpha:1 alpha:latest reg.local:5000/team/beta:2 docker-archive: docker:// local: \
	oci-archive: oci:)" "copy: images and the transports its help lists"
is "$(got 15)" "Containerfile" "files after oci-archive:"
is "$(got 16)" "alpha:1 alpha:latest" "store names after local:"
is "$(got 17)" "--tls-verify --tls-verify=false --tls-verify=true" "--tls-verify[=true|false]: the bare option and each value as one word"

# Without bale on PATH: no matches (and no file names instead).
out=$(cd "$T_TMP/work" && PATH=/usr/bin:/bin CAPTURE=$T_TMP/capture ZDOT=$T_TMP/zdot \
	COMPDIR=$top_srcdir/contrib/completion zsh -f "$T_TMP/drive.zsh" 'bale ' 'bale build -f C')
is "$?:$(got 1):$(got 2)" "0::" "no bale on PATH: no completion"

done_testing
