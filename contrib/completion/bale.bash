# bash completion for bale                                 -*- shell-script -*-
#
# Enable with `source /path/to/bale.bash`, or install it as
# $(datadir)/bash-completion/completions/bale for bash-completion to load.
#
# Nothing here lists bale's commands or options: they are read from
# `bale --help` and `bale CMD --help` (once per shell session and bale
# binary), so the completion follows whatever the installed bale accepts.
# What a value completes to comes from its placeholder in the help text:
#   a|b|c (lowercase)               those words
#   FILE, PATH, ROOTFS.tar, ARG      files      DIR, CONTEXT   directories
#   IMAGE, NAME[:TAG], SOURCE, ...   names from `bale images --format names`
#   COMMAND                          bale's commands for `help`, else programs
# A placeholder with no list but a description starting "a, b or c" (as
# "--log-level LEVEL  error, warn, info, debug or trace") completes to those
# words. Transports a command's help lists at the start of a line (copy's
# "oci:DIR[:TAG]", "[docker://]REF") are offered as prefixes of its image
# arguments, and complete the placeholder's kind after the prefix.

declare -gA _bale_spec=() _bale_opts=() _bale_desc=() _bale_forms=() _bale_tp=() _bale_plus=()
declare -gA _bale_loaded=()
declare -g _bale_bin= _bale_cmds=

# _bale_kind SPEC CMD: the kind a placeholder completes to, in REPLY:
# "=a b c" (choices), file, dir, image, command, program or nothing.
_bale_kind() {
	local spec=$1 lead
	REPLY=
	spec=${spec#[}
	spec=${spec%...}
	if [[ $spec =~ ^[a-z0-9][a-z0-9._-]*(\|[a-z0-9][a-z0-9._-]*)+$ ]]; then
		REPLY="=${spec//|/ }"
		return
	fi
	[[ $spec =~ ^[A-Z][A-Z_]* ]] || return
	lead=${BASH_REMATCH[0]}
	case $lead in
	*FILE | *FILES | PATH | *PATH | ROOTFS* | ARG | ARGS | *ARCHIVE | *TAR) REPLY='file' ;;
	*DIR | CONTEXT) REPLY=dir ;;
	IMAGE | NAME | SOURCE | TARGET | SRC | DST | DEST | DESTINATION | REF | REFERENCE) REPLY=image ;;
	COMMAND) [[ $2 == help ]] && REPLY='command' || REPLY='program' ;;
	esac
}

# _bale_add_opt KEY ITEM [DESCRIPTION]: record one option ("-t", "--tag
# NAME:TAG", "--tls-verify=false") of KEY ("-" for the global options).
# A choice list already known for it (from the usage line) is kept.
_bale_add_opt() {
	local key=$1 item=$2 desc=${3-} name spec= old
	item=${item#"${item%%[! ]*}"}
	item=${item%"${item##*[! ]}"}
	[[ $item =~ ^-{1,2}[A-Za-z0-9] ]] || return
	# "--tls-verify[=true|false]": a value that must be attached is offered
	# as whole words, beside the bare option.
	if [[ $item =~ ^(--[A-Za-z0-9-]+)\[=([a-z0-9|]+)\]$ ]]; then
		local bare=${BASH_REMATCH[1]} choices=${BASH_REMATCH[2]} choice
		_bale_add_opt "$key" "$bare" "$desc"
		for choice in ${choices//|/ }; do
			_bale_add_opt "$key" "$bare=$choice" "$desc"
		done
		return
	fi
	name=${item%%[ =]*}
	if [[ $item == "$name "* ]]; then
		spec=${item#"$name "}
	elif [[ $item == "$name="* ]]; then
		spec=${item#"$name="}
		# --tls-verify=false: the whole word is the option.
		[[ $spec =~ ^[a-z0-9]+$ ]] && name=$item spec=
	fi
	spec=${spec%%[ ,]*}
	# An unlisted choice spelled out in the description: "a, b or c".
	if [[ -n $spec && $spec != *'|'* && $desc =~ ^(([a-z][a-z0-9-]*),\ )+([a-z][a-z0-9-]*),?\ or\ ([a-z][a-z0-9-]*)([\ \;:.,\)]|$) ]]; then
		local list=${BASH_REMATCH[0]}
		_bale_kind "$spec" "$key"
		if [[ -z $REPLY ]]; then
			spec=${list%[ ;:.,)]}
			spec=${spec//, or /|}
			spec=${spec//, /|}
			spec=${spec// or /|}
		fi
	fi
	local k="$key $name"
	if [[ -z ${_bale_spec[$k]+set} ]]; then
		_bale_opts[$key]+=" $name"
		_bale_spec[$k]=$spec
	else
		old=${_bale_spec[$k]}
		_bale_kind "$old" "$key"
		[[ $REPLY == =* ]] || _bale_spec[$k]=${spec:-$old}
	fi
	[[ -n $desc && -z ${_bale_desc[$k]-} ]] && _bale_desc[$k]=$desc
}

# _bale_add_group KEY TEXT: "-f|--force", "-c FILE | --root DIR", "-o FILE".
_bale_add_group() {
	local key=$1 text=$2 item
	text=${text// | /$'\n'}
	while [[ $text =~ ^(.*[^ ])\|(-{1,2}[A-Za-z].*)$ ]]; do
		text="${BASH_REMATCH[1]}"$'\n'"${BASH_REMATCH[2]}"
	done
	while IFS= read -r item; do
		_bale_add_opt "$key" "$item"
	done <<<"$text"
}

# _bale_tokens TEXT: top-level words of a usage line into the array TOKENS,
# a bracketed group ("[--format json|text]", "[COMMAND [ARG...]]") one word.
_bale_tokens() {
	local text=$1 c t= depth=0 i
	TOKENS=()
	for ((i = 0; i < ${#text}; i++)); do
		c=${text:i:1}
		if [[ $c == ' ' && $depth -eq 0 ]]; then
			[[ -n $t ]] && TOKENS+=("$t")
			t=
			continue
		fi
		[[ $c == '[' ]] && ((depth++))
		[[ $c == ']' ]] && ((depth > 0)) && ((depth--))
		t+=$c
	done
	[[ -n $t ]] && TOKENS+=("$t")
}

# _bale_usage KEY FORM: the options and positional placeholders of one
# usage form ("bale run [OPTIONS] --rootfs DIR COMMAND [ARG...]"). Forms are
# kept as "REQUIRED-OPTIONS<US>PLACEHOLDERS" lines (US: \x1f) in _bale_forms[KEY].
_bale_usage() {
	local key=$1 req= pos= tok inner
	local -a TOKENS queue
	_bale_tokens "$2"
	queue=("${TOKENS[@]:2}")
	while ((${#queue[@]})); do
		tok=${queue[0]}
		queue=("${queue[@]:1}")
		case $tok in
		'[OPTIONS]' | '[OPTIONS]...' | OPTIONS) ;;
		'[-'*)
			inner=${tok%...}
			inner=${inner#[}
			_bale_add_group "$key" "${inner%]}"
			;;
		-*)
			if ((${#queue[@]})) && [[ ${queue[0]} =~ ^[A-Z] ]]; then
				_bale_add_opt "$key" "$tok ${queue[0]}"
				queue=("${queue[@]:1}")
			else
				_bale_add_opt "$key" "$tok"
			fi
			req+=" ${tok%%[=|]*}"
			;;
		'['*)
			inner=${tok%...}
			inner=${inner#[}
			_bale_tokens "${inner%]}"
			queue=("${TOKENS[@]}" "${queue[@]}")
			;;
		*)
			pos+=" $tok"
			# Options end at the first argument when one is a COMMAND to run.
			_bale_kind "$tok" "$key"
			[[ $REPLY == program ]] && _bale_plus[$key]=1
			;;
		esac
	done
	_bale_forms[$key]+="$req"$'\x1f'"$pos"$'\n'
}

# _bale_parse KEY HELP: everything completion needs from one help text.
_bale_parse() {
	local key=$1 line form= next inusage= pend= pendin=0 opt desc lead section=
	while IFS= read -r line; do
		lead=${line%%[! ]*}
		# A man-page section heading: options are read in OPTIONS only, so
		# a DESCRIPTION line that starts with an option's name is not one.
		[[ $line =~ ^[A-Z][A-Z\ ]+$ ]] && section=$line
		if [[ -n $pend ]]; then
			desc=
			[[ $line =~ ^\ {6,}([^ ].*)$ ]] && desc=${BASH_REMATCH[1]}
			# An option indented past two spaces is one only when its
			# description is indented deeper still (else it is a wrapped
			# description line that starts with an option's name).
			((pendin == 0 || ${#lead} > pendin + 2)) && _bale_add_opts_line "$key" "$pend" "$desc"
			pend=
		fi
		if [[ $line =~ ^usage:\ +(bale .*)$ ]]; then
			form=${BASH_REMATCH[1]} inusage=1
			continue
		fi
		if [[ -n $inusage ]]; then
			if [[ $line =~ ^\ +(bale .*)$ ]]; then
				next=${BASH_REMATCH[1]}
				_bale_usage "$key" "$form"
				form=$next
				continue
			elif [[ $line =~ ^\ +([^ ].*)$ ]]; then
				form+=" ${BASH_REMATCH[1]}"
				continue
			fi
			_bale_usage "$key" "$form"
			inusage=
		fi
		# An option line: two spaces, then the option up to the first run
		# of two spaces (today's texts also align long-only options under
		# the long names of others, at up to six).
		if [[ ( -z $section || $section == OPTIONS ) && $line =~ ^(\ {2}-{1,2}|\ {3,6}--)[A-Za-z0-9] ]]; then
			opt=${line#"$lead"}
			if [[ $opt == *'  '* ]]; then
				desc=${opt#*  }
				desc=${desc#"${desc%%[! ]*}"}
				_bale_add_opts_line "$key" "${opt%%  *}" "$desc"
			else
				pend=$opt pendin=0
				((${#lead} > 2)) && pendin=${#lead}
			fi
		elif [[ $key == - && $line =~ ^\ {2}([a-z][a-z0-9-]*)(\ {2,}(.*))?$ ]]; then
			_bale_cmds+=" ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^\ +(-\ )?\[?([a-z][a-z0-9-]*:(//)?)\]?([A-Z][A-Z_]*) ]]; then
			_bale_tp[$key]+=" ${BASH_REMATCH[2]}${BASH_REMATCH[4]}"
		fi
	done <<<"$2"
	[[ -n $pend ]] && ((pendin == 0)) && _bale_add_opts_line "$key" "$pend" ""
	[[ -n $inusage ]] && _bale_usage "$key" "$form"
	_bale_loaded[$key]=1
}

# "-t, --tag NAME:TAG" and its description: the placeholder is the last
# name's, and every name takes it.
_bale_add_opts_line() {
	local item text=$2 spec=
	[[ ${text##*, } == *' '* ]] && spec=" ${text##* }"
	text=${text//, -/$'\n'-}
	while IFS= read -r item; do
		[[ $item == *' '* ]] || item+=$spec
		_bale_add_opt "$1" "$item" "$3"
	done <<<"$text"
}

# _bale_load KEY: parse bale's (KEY "-") or a command's help once.
_bale_load() {
	[[ -n ${_bale_loaded[$1]-} ]] && return 0
	if [[ $1 == - ]]; then
		_bale_parse - "$("$_bale_bin" --help 2>/dev/null)"
	else
		[[ " $_bale_cmds " == *" $1 "* ]] || return 1
		_bale_parse "$1" "$("$_bale_bin" "$1" --help 2>/dev/null)"
	fi
}

# _bale_values KIND CUR CMD ROOT [NOTP]: candidates into the array CANDS, and
# NOSPACE/FILENAMES set as the kind needs.
_bale_values() {
	local kind=$1 cur=$2 cmd=$3 root=$4 tp p
	case $kind in
	=*) mapfile -t CANDS < <(compgen -W "${kind#=}" -- "$cur") ;;
	file | dir)
		local -a paths
		if [[ $kind == dir ]]; then
			mapfile -t paths < <(compgen -d -- "$cur")
		else
			mapfile -t paths < <(compgen -f -- "$cur")
		fi
		CANDS+=("${paths[@]}")
		FILENAMES=1
		;;
	command) mapfile -t CANDS < <(compgen -W "$_bale_cmds" -- "$cur") ;;
	program)
		mapfile -t CANDS < <(compgen -c -- "$cur")
		;;
	image)
		local -a tps=()
		[[ -z ${5-} ]] && read -ra tps <<<"${_bale_tp[$cmd]-}"
		# A transport prefix typed: complete what follows it.
		for tp in "${tps[@]}"; do
			p=${tp%%[A-Z]*}
			if [[ $cur == "$p"* ]]; then
				_bale_kind "${tp#"$p"}" "$cmd"
				_bale_values "$REPLY" "${cur#"$p"}" "$cmd" "$root" notp
				_bale_slash_dirs
				CANDS=("${CANDS[@]/#/$p}")
				return
			fi
		done
		local names
		names=$("$_bale_bin" ${root:+--root "$root"} images --format names 2>/dev/null)
		mapfile -t CANDS < <(compgen -W "$names" -- "$cur")
		for tp in "${tps[@]}"; do
			p=${tp%%[A-Z]*}
			[[ $p == "$cur"* ]] && CANDS+=("$p") && NOSPACE=1
		done
		;;
	esac
}

# With a prefix before them (oci:, --file=) paths are no longer bash's to
# decorate: mark directories with '/' and do not end the word after them.
_bale_slash_dirs() {
	local i
	[[ -n $FILENAMES ]] || return 0
	for i in "${!CANDS[@]}"; do
		[[ -d ${CANDS[i]} && ${CANDS[i]} != */ ]] && CANDS[i]+=/ && NOSPACE=1
	done
	FILENAMES=
}

_bale() {
	local bin
	bin=$(type -P bale) || return 0
	if [[ $bin != "$_bale_bin" ]]; then
		_bale_spec=() _bale_opts=() _bale_desc=() _bale_forms=() _bale_tp=() _bale_plus=()
		_bale_loaded=()
		_bale_cmds= _bale_bin=$bin
	fi
	_bale_load - || return 0

	# Words as the user sees them: bash splits "oci:dir" and "--x=y" at ':'
	# and '='; join what no blank separates. STRIP is what the reply must
	# leave out (bash replaces only the last piece).
	local line=${COMP_LINE:0:COMP_POINT} p=0 i gap start rawcur= word
	local -a w=()
	for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
		gap=$p
		while [[ ${line:p:1} == [[:space:]] ]]; do ((p++)); done
		start=$p
		if ((i == COMP_CWORD)); then
			rawcur=${line:start}
		fi
		if [[ ${line:p:${#COMP_WORDS[i]}} == "${COMP_WORDS[i]}" ]]; then
			((p += ${#COMP_WORDS[i]}))
		fi
		word=${COMP_WORDS[i]}
		((i == COMP_CWORD)) && word=$rawcur
		if ((i > 0 && gap == start)); then
			w[${#w[@]} - 1]+=$word
		else
			w+=("$word")
		fi
	done
	local cw=$((${#w[@]} - 1)) cur=${w[-1]}
	local strip=$((${#cur} - ${#rawcur}))

	# Walk the words before the cursor: global options, the command, its
	# options and positional arguments.
	local key=- cmd= root= name val valopt= optsdone= npos=0 form= f req
	for ((i = 1; i < cw; i++)); do
		word=${w[i]}
		if [[ -z $optsdone && $word == -?* && $word != -- ]]; then
			name=${word%%=*}
			val=
			if [[ $word == *=* ]]; then
				val=${word#*=}
			elif [[ -n ${_bale_spec["$key $name"]-} ]]; then
				if ((i + 1 == cw)); then valopt=$name; else val=${w[i + 1]}; ((i++)); fi
			fi
			[[ $key == - && $name == --root ]] && root=$val
			continue
		fi
		if [[ $word == -- && -n $cmd ]]; then
			optsdone=1
		elif [[ -z $cmd ]]; then
			cmd=$word key=$word
			_bale_load "$cmd" || return 0
		else
			((npos++))
			[[ -n ${_bale_plus[$cmd]-} ]] && optsdone=1
		fi
	done
	root=${root/#\~/$HOME}

	# The usage form that applies: the first, unless an option only another
	# form requires was typed (bale run --rootfs DIR COMMAND).
	if [[ -n $cmd ]]; then
		while IFS=$'\x1f' read -r req f; do
			[[ -z $form ]] && form=$f
			for name in $req; do
				[[ " ${w[*]:1:cw-1} " == *" $name"[\ =]* ]] && { form=$f; break 2; }
			done
		done <<<"${_bale_forms[$cmd]-}"
	fi

	local -a CANDS=()
	local NOSPACE= FILENAMES= kind
	if [[ -n $valopt && -z $optsdone ]]; then
		_bale_kind "${_bale_spec["$key $valopt"]}" "$cmd"
		_bale_values "$REPLY" "$cur" "$cmd" "$root"
	elif [[ -z $optsdone && $cur == --*=* ]]; then
		name=${cur%%=*}
		if [[ -n ${_bale_spec["$key $name"]-} ]]; then
			_bale_kind "${_bale_spec["$key $name"]}" "$cmd"
			kind=$REPLY
			_bale_values "$kind" "${cur#*=}" "$cmd" "$root"
			_bale_slash_dirs
			CANDS=("${CANDS[@]/#/$name=}")
		fi
	elif [[ -z $optsdone && $cur == -* ]]; then
		mapfile -t CANDS < <(compgen -W "${_bale_opts[$key]-}" -- "$cur")
	elif [[ -z $cmd ]]; then
		mapfile -t CANDS < <(compgen -W "$_bale_cmds" -- "$cur")
	else
		local -a fp
		local ph=
		read -ra fp <<<"$form"
		if ((npos < ${#fp[@]})); then
			ph=${fp[npos]}
		elif ((${#fp[@]})) && [[ ${fp[-1]} == *... ]]; then
			ph=${fp[-1]}
		fi
		if [[ -n $ph ]]; then
			_bale_kind "$ph" "$cmd"
			_bale_values "$REPLY" "$cur" "$cmd" "$root"
		fi
	fi

	if ((strip > 0)); then
		_bale_slash_dirs
		CANDS=("${CANDS[@]/#"${cur:0:strip}"/}")
	fi
	COMPREPLY=("${CANDS[@]}")
	[[ -n $NOSPACE ]] && compopt -o nospace 2>/dev/null
	[[ -n $FILENAMES ]] && compopt -o filenames 2>/dev/null
	return 0
}

complete -F _bale bale
