#!/bin/sh
# bash completion (contrib/completion/bale.bash) against the built bale:
# the completion function is called as bash calls it, with COMP_WORDS split
# the way readline splits a line, and COMPREPLY is checked against what
# `bale --help`, `bale CMD --help` and `bale images` say. Also checks
# `bale images --format names`, which the completion lists images with.
. "$top_srcdir/tests/integration/lib.sh"

command -v bash >/dev/null 2>&1 || skip_all "bash is not installed"
script=$top_srcdir/contrib/completion/bale.bash
bindir=$(dirname "$BALE")
unset BALE_ROOT
export HOME="$T_TMP/home" XDG_DATA_HOME="$T_TMP/home/data"
mkdir -p "$HOME"

# Two names of one image and a name with a registry and port.
root=$T_TMP/root
mkdir -p "$T_TMP/fs" && echo hi >"$T_TMP/fs/hello" && tar -C "$T_TMP/fs" -cf "$T_TMP/fs.tar" .
for n in alpha:1 alpha:latest reg.local:5000/team/beta:2; do
	"$BALE" --root "$root" import "$T_TMP/fs.tar" "$n" >/dev/null || echo "Bail out! bale import $n failed"
done

run "$BALE" --root "$root" images --format names
is "$T_RC" 0 "images --format names exits 0"
is "$(printf '%s\n' "$T_OUT" | sort)" "alpha:1
alpha:latest
reg.local:5000/team/beta:2" "images --format names prints each name once per line"
run "$BALE" --root "$T_TMP/nostore" images --format names
is "$T_RC:$T_OUT" "0:" "images --format names of a missing store prints nothing"
test ! -e "$T_TMP/nostore"
t_ok $? "and does not create the store"
run "$BALE" --root "$root" images --format bogus
like "$T_RC:$T_ERR" "^2:.*table, json or names" "an unknown --format names the three formats"

# comp LINE: complete LINE (cursor at its end) and print COMPREPLY, sorted,
# one per line. Words are split as readline splits them: at blanks, and at
# COMP_WORDBREAKS characters (':' and '=' here), which become words.
cat >"$T_TMP/comp.bash" <<'EOF'
. "$1"
shift
line=$1
words=() w=
for ((i = 0; i < ${#line}; i++)); do
	c=${line:i:1}
	if [[ $c == ' ' ]]; then
		[[ -n $w ]] && words+=("$w")
		w=
	elif [[ $c == [:=] ]]; then
		if [[ -n $w && $w != *[!:=]* ]]; then w+=$c; continue; fi
		[[ -n $w ]] && words+=("$w")
		w=$c
	else
		[[ -n $w && $w != *[!:=]* ]] && words+=("$w") && w=
		w+=$c
	fi
done
if [[ -n $w || ${line: -1} == ' ' || -z $line ]]; then words+=("$w"); fi
COMP_LINE=$line COMP_POINT=${#line} COMP_WORDS=("${words[@]}") COMP_CWORD=$((${#words[@]} - 1))
COMPREPLY=()
_bale
rc=$?
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
exit $rc
EOF
bash_bin=$(command -v bash)
comp() { # comp LINE [PATH]
	(cd "$T_TMP/work" && PATH=${2:-$bindir:$PATH} "$bash_bin" --norc --noprofile "$T_TMP/comp.bash" "$script" "$1")
}
mkdir -p "$T_TMP/work/ctx" "$T_TMP/work/cache" && : >"$T_TMP/work/Containerfile"

is "$(comp 'bale bu')" "build" "a command from its prefix"
want=$("$BALE" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' | LC_ALL=C sort)
is "$(comp 'bale ')" "$want" "every command of bale --help"
is "$(comp 'bale --')" "$("$BALE" --help | grep -oE -- '--[a-z][a-z-]*' | LC_ALL=C sort -u)" \
	"the global options of bale --help"

# Every long option a command's help lists on an option line (up to its
# description) or its usage line is offered, and every option offered is
# in that help.
for cmd in build run push copy pull gc serve parse images rmi save load import login logout version; do
	help=$("$BALE" "$cmd" --help)
	want=$({
		printf '%s\n' "$help" | awk '/^usage:/ { u = 1 } u && /^$/ { exit } u'
		printf '%s\n' "$help" | sed -n '/^OPTIONS$/,/^[A-Z]/p' | grep -E '^ {2,6}-' |
			sed -E 's/^ +//; s/  .*//'
	} | grep -oE -- '--[a-z][a-z0-9-]*(=[a-z]+)?' | LC_ALL=C sort -u)
	got=$(comp "bale $cmd --")
	missing=$(printf '%s\n' "$want" | grep -vxF -- "$got")
	is "$missing" "" "bale $cmd --: offers every long option of its help"
	extra=
	for o in $got; do
		# --tls-verify=true comes from "--tls-verify[=true|false]"
		printf '%s\n' "$help" | grep -qF -e "$o" -e "${o%%=*}[=" || extra="$extra $o"
	done
	is "$extra" "" "bale $cmd --: offers no option its help does not name"
done
is "$(comp 'bale build -')" "$(comp 'bale build --')
-f
-o
-q
-t" "short options too"

# Values from the placeholder or the description.
is "$(comp 'bale build --network h')" "host" "--network h: a choice of host|none"
is "$(comp 'bale build --network ')" "host
none" "--network: both choices"
is "$(comp 'bale build --network=n')" "none" "--network=n"
is "$(comp 'bale build --format ')" "docker
oci" "--format oci|docker"
is "$(comp 'bale images --format n')" "names" "images --format names"
is "$(comp 'bale --log-level ')" "debug
error
info
trace
warn" "--log-level LEVEL: the levels its description lists"
is "$(comp 'bale push --progress q')" "quiet" "--progress MODE: from its description"
is "$(comp 'bale push --tls')" "--tls-verify
--tls-verify=false
--tls-verify=true" "--tls-verify[=true|false]: the bare option and each value as one word"
is "$(comp 'bale build --no-cache -f C')" "Containerfile" "files after -f"
is "$(comp 'bale build --file ')" "Containerfile
cache
ctx" "files and directories after --file"
is "$(comp 'bale build ')" "cache
ctx" "build's CONTEXT: directories only"
is "$(comp 'bale build --file=Co')" "Containerfile" "--file=Co"
is "$(comp 'bale run -w c')" "cache
ctx" "run -w DIR: directories"
is "$(comp 'bale help bu')" "build" "help COMMAND: command names"
is "$(comp 'bale import ')" "Containerfile
cache
ctx" "import ROOTFS.tar: files"

# Image names, from the store --root names (or BALE_ROOT, or none).
names=$(printf 'alpha:1\nalpha:latest\nreg.local:5000/team/beta:2')
is "$(comp "bale --root $root rmi ")" "$names" "rmi: the images of --root"
is "$(comp "bale --root=$root rmi -f ")" "$names" "rmi -f: the images of --root=DIR"
# The default store is the machine's (/var/lib/bale for root): whatever it
# holds, not an empty list.
is "$(comp 'bale rmi ')" "$("$BALE" images --format names | LC_ALL=C sort)" \
	"no --root: the default store's names"
is "$(BALE_ROOT=$root comp 'bale inspect a')" "alpha:1
alpha:latest" "inspect: the images of BALE_ROOT"
is "$(comp "bale --log-level warn --root $root tag alpha:1 reg")" "reg.local:5000/team/beta:2" \
	"tag TARGET: names"
is "$(comp "bale --root $root push alpha:l")" "latest" "a name past its ':' (bash replaces the tag only)"
is "$(comp "bale --root $root save -o x a")" "alpha:1
alpha:latest" "save IMAGE after -o FILE"
is "$(comp "bale --root $root run --network none a")" "alpha:1
alpha:latest" "run IMAGE after --network VALUE"
is "$(comp "bale --root $root run alpha:1 -")" "" "after run's IMAGE, options are the program's"
is "$(comp "bale --root $root build -t ")" "$names" "build -t NAME:TAG: names"

# copy's transports, and what follows each.
is "$(comp "bale --root $root copy ")" "$(printf '%s\n' "$names" docker-archive: docker:// local: \
	oci-archive: oci: | LC_ALL=C sort)" "copy: images and the transports its help lists"
is "$(comp 'bale copy oci-a')" "oci-archive:" "a transport from its prefix"
is "$(comp 'bale copy oci-archive:Con')" "Containerfile" "files after oci-archive:"
is "$(comp 'bale copy alpha:1 oci:c')" "cache/
ctx/" "directories after oci: (marked, the word goes on)"
is "$(comp "bale --root $root copy local:a")" "alpha:1
alpha:latest" "store names after local:"
is "$(comp "bale --root $root copy docker://reg")" "//reg.local:5000/team/beta:2" "names after docker://"

# bash-completion finds the file as it is installed (completions/bale) and
# loads it on the first TAB after `bale`.
if [ -r /usr/share/bash-completion/bash_completion ]; then
	mkdir -p "$T_TMP/share/bash-completion/completions"
	cp "$script" "$T_TMP/share/bash-completion/completions/bale"
	run env PATH="$bindir:$PATH" XDG_DATA_DIRS="$T_TMP/share" "$bash_bin" --norc --noprofile -c '
		. /usr/share/bash-completion/bash_completion
		__load_completion bale && complete -p bale &&
		COMP_LINE="bale bu" COMP_POINT=7 COMP_WORDS=(bale bu) COMP_CWORD=1 && _bale && echo "${COMPREPLY[*]}"'
	is "$T_RC:$T_OUT" "0:complete -F _bale bale
build" "bash-completion loads completions/bale for bale"
else
	T_COUNT=$((T_COUNT + 1))
	echo "ok $T_COUNT # SKIP bash-completion is not installed"
fi

# Without bale on PATH: nothing, quietly.
run comp 'bale b' /nonexistent
is "$T_RC:$T_OUT:$T_ERR" "0::" "no bale on PATH: no completion and no error"

done_testing
