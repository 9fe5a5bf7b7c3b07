# scd2txt.awk: render scdoc(5) man page sources as the plain text of
# `bale help CMD`, and write them as C strings. POSIX awk only.
#
#   awk -f scd2txt.awk -v out=help-pages.c -v hdr=help-pages.h man/bale*.1.scd
#   awk -f scd2txt.awk -v text=1 man/bale-build.1.scd     (the text on stdout)
#
# For each page bale-CMD.1.scd (bale.1.scd is CMD "bale") it defines
#   const char bale_help_CMD[];     the page as text
#   const char bale_summary_CMD[];  what NAME says after "bale-CMD - "
# with '-' in CMD made '_'. The text: SYNOPSIS as "usage: ..." lines at the
# top, NAME left out, every other section as its heading in capitals at
# column 0 and its paragraphs filled to 79 columns, indented 2 spaces plus
# 4 per leading tab (literal blocks 2 more, not filled). In OPTIONS a paragraph starting at column 0 is an option
# line, printed as it is, indented 2 spaces; its description (one tab in the
# source) is indented 6. Emphasis (*bold*, _underline_) is dropped and
# backslash escapes resolved as scdoc resolves them.
#
# The subset of scdoc understood: the title line, "# " headings, paragraphs,
# tab indentation, "- " and ". " lists with two-space continuation lines,
# ``` literal blocks, "++" line breaks and "; " comments. Anything else
# (tables, "## " headings) stops with an error naming the file and line.

BEGIN {
	width = 79
	nfiles = 0
}

function fail(msg) {
	printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

function isalnum(c) {
	return c ~ /^[A-Za-z0-9]$/
}

# The text of scdoc inline markup: emphasis dropped, \X made X. An
# underscore inside a word is literal, as scdoc reads it.
function plain(s,    r, i, c, prev, next_c, under, n) {
	r = ""
	under = 0
	prev = " "
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "\\" && i < n) {
			i++
			c = substr(s, i, 1)
			r = r c
			prev = c
			continue
		}
		if (c == "*")
			continue
		if (c == "_") {
			next_c = i < n ? substr(s, i + 1, 1) : " "
			if (!under && !isalnum(prev)) {
				under = 1
				continue
			}
			if (under && !isalnum(next_c)) {
				under = 0
				prev = c
				continue
			}
		}
		r = r c
		prev = c
	}
	return r
}

# Literal blocks keep markup characters; only escapes are resolved.
function unescape(s,    r, i, c, n) {
	r = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "\\" && i < n) {
			i++
			c = substr(s, i, 1)
		}
		r = r c
	}
	return r
}

function spaces(n,    s) {
	s = ""
	while (n-- > 0)
		s = s " "
	return s
}

function emit(line) {
	sub(/[ \t]+$/, "", line)
	page = page line "\n"
}

# Fill text (words separated by blanks, "\n" a forced break) to width:
# the first line starts with first, the others with rest.
function fill(text, first, rest,    nl, lines, j, nw, words, k, line, lead) {
	nl = split(text, lines, "\n")
	lead = first
	for (j = 1; j <= nl; j++) {
		nw = split(lines[j], words, " ")
		line = lead
		for (k = 1; k <= nw; k++) {
			if (line != lead && length(line) + 1 + length(words[k]) > width) {
				emit(line)
				line = rest
			}
			line = (line == lead || line == rest) ? line words[k] : line " " words[k]
		}
		emit(line)
		lead = rest
	}
}

function flush(    ind, bullet) {
	if (para == "")
		return
	if (section == "NAME") {
		summary = plain(para)
		if (!sub(/^[^ ]+ - /, "", summary))
			fail("NAME must read 'bale-CMD - summary'")
	} else if (section == "SYNOPSIS") {
		fill(plain(para), nusage++ ? "       " : "usage: ", "           ")
	} else {
		if (pending_blank) {
			emit("")
			pending_blank = 0
		}
		ind = 2 + 4 * ptabs
		if (pkind == "item") {
			bullet = pnum ? pnum ". " : "- "
			fill(plain(para), spaces(ind) bullet, spaces(ind + length(bullet)))
		} else {
			fill(plain(para), spaces(ind), spaces(ind))
		}
		if (pkind != "item")
			pending_blank = 1
	}
	para = ""
}

function end_page(    name, cname, i, n, lines, esc) {
	flush()
	if (section == "" || nusage == 0)
		fail("no SYNOPSIS")
	if (text) {
		printf "%s", page
		return
	}
	name = curfile
	sub(/^.*\//, "", name)
	if (name !~ /\.1\.scd$/)
		return
	sub(/\.1\.scd$/, "", name)
	if (name != "bale")
		sub(/^bale-/, "", name)
	cname = name
	gsub(/-/, "_", cname)
	nfiles++
	printf "\nconst char bale_summary_%s[] = \"%s\";\n", cname, cstr(summary) > out
	printf "const char bale_help_%s[] =\n", cname > out
	n = split(page, lines, "\n")
	for (i = 1; i < n; i++)
		printf "\t\"%s\\n\"%s\n", cstr(lines[i]), i == n - 1 ? ";" : "" > out
	printf "extern const char bale_summary_%s[];\nextern const char bale_help_%s[];\n",
	       cname, cname > hdr
}

# s as the inside of a C string literal. A loop, not gsub(): how gsub()
# treats backslashes in its replacement differs between awks.
function cstr(s,    r, i, c, n) {
	r = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "\\" || c == "\"")
			r = r "\\" c
		else if (c == "\t")
			r = r "\\t"
		else
			r = r c
	}
	return r
}

FNR == 1 {
	if (started)
		end_page()
	started = 1
	curfile = FILENAME
	page = ""; para = ""; section = ""; summary = ""
	nusage = 0; literal = 0; pending_blank = 0; pnum = 0
	if (!text && nfiles == 0 && !header_done) {
		if (out == "" || hdr == "")
			fail("give -v out=FILE.c -v hdr=FILE.h, or -v text=1")
		print "/* Generated by build-aux/scd2txt.awk from the pages in man/: do not edit. */" > out
		print "#include \"cmd/help-pages.h\"" > out
		print "/* Generated by build-aux/scd2txt.awk from the pages in man/: do not edit. */" > hdr
		print "#ifndef BALE_CMD_HELP_PAGES_H" > hdr
		print "#define BALE_CMD_HELP_PAGES_H" > hdr
		header_done = 1
	}
	if ($0 !~ /^[a-z0-9.-]+\([1-8]\)/)
		fail("the first line must be the title, e.g. bale-build(1)")
	next
}

literal {
	line = $0
	if (line ~ /^\t*```[ \t]*$/) {
		literal = 0
		pending_blank = 1
		next
	}
	for (i = 0; i < ltabs && substr(line, 1, 1) == "\t"; i++)
		line = substr(line, 2)
	tabs = 0
	while (substr(line, 1, 1) == "\t") {
		line = substr(line, 2)
		tabs++
	}
	emit(spaces(4 + 4 * ltabs + 4 * tabs) unescape(line))
	next
}

/^;/ { next }

/^\t*```[ \t]*$/ {
	flush()
	if (pending_blank) {
		emit("")
		pending_blank = 0
	}
	line = $0
	ltabs = 0
	while (substr(line, 1, 1) == "\t") {
		line = substr(line, 2)
		ltabs++
	}
	literal = 1
	next
}

/^##/ { fail("'##' headings are not supported") }

/^# / {
	flush()
	section = substr($0, 3)
	if (section != toupper(section))
		fail("section headings are in capitals")
	pnum = 0
	if (section != "NAME" && section != "SYNOPSIS") {
		if (page != "")
			emit("")
		emit(section)
		pending_blank = 0
	}
	next
}

/^[ \t]*$/ {
	flush()
	if (pkind == "item")
		pending_blank = 1
	pkind = ""
	next
}

/^\t*\[\[|^\t*[|:]/ { fail("tables are not supported") }

{
	line = $0
	tabs = 0
	while (substr(line, 1, 1) == "\t") {
		line = substr(line, 2)
		tabs++
	}
	brk = sub(/\+\+$/, "", line)
	if (line ~ /^[-.] /) {
		flush()
		pkind = "item"
		pnum = substr(line, 1, 1) == "." ? pnum + 1 : 0
		ptabs = tabs
		para = substr(line, 3)
	} else if (pkind == "item" && tabs == ptabs && line ~ /^  [^ ]/) {
		sub(/^  /, "", line)
		para = para " " line
	} else if (section == "OPTIONS" && tabs == 0 && line ~ /^\*-/) {
		flush()
		pkind = "option"
		if (pending_blank)
			emit("")
		pending_blank = 0
		emit("  " plain(line))
		next
	} else if (section == "OPTIONS" && tabs == 0) {
		fail("in OPTIONS a paragraph at column 0 must be an option: *-x*, *--name* _VALUE_")
	} else if (para != "" && tabs == ptabs && pkind == "text") {
		para = para (lastbrk ? "\n" : " ") line
	} else {
		# A paragraph right after another one, without a blank line (a
		# term and its indented description) follows it directly.
		follows = para != "" || pkind == "option"
		flush()
		if (follows)
			pending_blank = 0
		pkind = "text"
		pnum = 0
		ptabs = tabs
		para = line
	}
	lastbrk = brk
	if (brk && pkind == "item")
		para = para "\n"
}

END {
	if (failed)
		exit 1
	if (started)
		end_page()
	if (!text && started) {
		print "#endif" > hdr
	}
}
