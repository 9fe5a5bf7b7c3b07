/* .dockerignore semantics: a table of (patterns, path, excluded?) checked
 * against the rules of Docker's patternmatcher, plus file lookup. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "parser/ignore.h"
#include "tests/tap.h"

struct row {
	const char *patterns; /* the file's text */
	const char *path;
	bool excluded;
};

static const struct row rows[] = {
	{ "foo", "foo", true },
	{ "foo", "foo/bar", true },          /* a matching parent excludes its contents */
	{ "foo", "foobar", false },
	{ "foo", "bar/foo", false },         /* patterns are anchored at the context root */
	{ "/foo", "foo", true },             /* a leading slash is dropped */
	{ "foo/", "foo/x", true },           /* cleaned: trailing slash dropped */
	{ "./foo/../bar", "bar", true },     /* cleaned like filepath.Clean */
	{ "*.md", "README.md", true },
	{ "*.md", "docs/README.md", false }, /* '*' does not cross '/' */
	{ "*/*.md", "docs/README.md", true },
	{ "**/*.md", "docs/README.md", true },
	{ "**/*.md", "README.md", true },    /* the double star matches zero directories */
	{ "**/*.md", "a/b/c/README.md", true },
	{ "docs/**", "docs/a/b", true },
	{ "docs/**", "docs", false },
	{ "**", "anything/at/all", true },
	{ "**/node_modules", "node_modules", true },
	{ "**/node_modules", "a/b/node_modules/x", true },
	{ "a/**/b", "a/b", true },
	{ "a/**/b", "a/x/y/b", true },
	{ "a/**/b", "a/x/y/c", false },
	{ "?.txt", "a.txt", true },
	{ "?.txt", "ab.txt", false },
	{ "?", "/", false },
	{ "[abc].go", "b.go", true },
	{ "[abc].go", "d.go", false },
	{ "[a-c]x", "bx", true },
	{ "[^a-c]x", "dx", true },
	{ "[^a-c]x", "ax", false },
	{ "\\*.md", "*.md", true },
	{ "\\*.md", "a.md", false },
	{ "*.log\n!keep.log", "keep.log", false },  /* exception */
	{ "*.log\n!keep.log", "other.log", true },
	{ "!keep.log\n*.log", "keep.log", true },   /* last match wins */
	{ "dir\n!dir/keep", "dir/keep", false },
	{ "dir\n!dir/keep", "dir/other", true },
	{ "dir\n!dir/keep\ndir/keep", "dir/keep", true },
	{ "# comment\nfoo", "# comment", false },
	{ " # not a comment", "# not a comment", true }, /* only a leading '#' comments */
	{ "  spaced  ", "spaced", true },
	{ "\xEF\xBB\xBF" "bom", "bom", true },
	{ "crlf\r\n", "crlf", true },
	{ "a\n\n\nb", "b", true },
	{ "foo", ".", false },                /* the context itself is never excluded */
	{ "*", "x/y", true },
	{ "*", ".dockerignore", true },
	{ ".git", ".git/HEAD", true },
	/* After a backslash, patternmatcher's regexp gives Go (RE2) meanings;
	 * each expected value here was checked with moby/patternmatcher. */
	{ "a\\d", "a1", true },
	{ "a\\d", "ab", false },
	{ "a\\D", "ab", true },
	{ "a\\D", "a1", false },
	{ "a\\s", "a ", true },
	{ "a\\s", "a\vb", false },          /* RE2's \s has no \v */
	{ "a\\S", "ab", true },
	{ "a\\w", "a_", true },
	{ "a\\w", "a-", false },
	{ "a\\W", "a-", true },
	{ "a\\W", "a\xC3\xA9", true },      /* \w is ASCII only */
	{ "a\\b", "a", true },               /* word boundary at the end */
	{ "a\\bb", "ab", false },
	{ "\\Bb", "b", false },
	{ "a\\B_", "a_", true },
	{ "a\\b/x", "a/x", true },
	{ "\\Aa", "a", true },
	{ "a\\z", "a", true },
	{ "a\\z", "ab", false },
	{ "a\\tb", "a\tb", true },
	{ "a\\nb", "a\nb", true },
	{ "a\\x41", "aA", true },
	{ "a\\x{41}", "aA", true },
	{ "a\\x{e9}", "a\xC3\xA9", true },
	{ "a\\101", "aA", true },            /* octal */
	{ "a\\0101", "a\b1", true },        /* at most three octal digits */
	{ "a\\x2fb", "a/b", true },
	{ "a\\x2f", "a/b", false },
	{ "a\\_", "a_", true },              /* punctuation stands for itself */
	{ "a\\-", "a-", true },
	/* ... inside [...] too */
	{ "[\\d]", "5", true },
	{ "[\\d]", "d", false },
	{ "[^\\d]", "1", false },
	{ "[\\x41-\\x43]", "B", true },
	{ "[\\x41]", "x", false },
	{ "[\\n]", "n", false },
	{ "[\\d-z]", "-", true },
	{ "[\\]a]", "a", true },
	/* \Q quotes patternmatcher's regexp text, up to \E or to its end */
	{ "\\Qa*", "a[^/]*$", true },
	{ "\\Qa*", "a[^/]*$x", true },        /* the quoted `$` no longer anchors */
	{ "\\Qa*", "ab", false },
	{ "a\\Q.\\Eb", "a\\.b", true },
	{ "a\\Q.\\Eb", "a.b", false },
	{ "\\Qa\\Eb*", "abc", true },
	{ "x\\Q\\\\Ey", "x\\y", true },
	{ "\\Q**/b", "(.*/)?b$", true },
	{ "\\Q\\y", "\\y$", true },
	/* patternmatcher leaves `|` `{` `}` unescaped in its regexp (its escape
	 * bitmap loses every byte from 64 up), so Go reads alternation
	 * (`^a|[ab]$`: a path starting with a, or ending with a or b) and
	 * repetition; `[` ... `]` reach the regexp with `*` and `?` already
	 * rewritten inside (`[*]` is `[[^/]*]`), and POSIX classes are Go's.
	 * Each expected value was checked with moby/patternmatcher. */
	{ "a|[ab]", "zzz", false },
	{ "a|[ab]", "xb", true },
	{ "a|[ab]", "ab/c", true },
	{ "a|[ab]", "q", false },
	{ "a|[ab]", "c/a", true },
	{ "a|[ab]", "a|a", true },
	{ "a|b*", "a", true },
	{ "a|b*", "b", true },
	{ "a|b*", "bx", true },
	{ "a|b*", "xa", false },
	{ "|a*", "b", true },
	{ "a*|", "b", true },
	{ "a*|b|c*", "xbx", true },
	{ "a*|b|c*", "z", false },
	{ "a*|b|c*", "c", true },
	{ "a||b*", "c", true },
	{ "\\Qa|b\\E*", "a|bc", true },
	{ "\\Qa|b\\E*", "b", false },
	{ "\\(a|b\\)*", "(a", true },
	{ "\\(a|b\\)*", "b)", true },
	{ "\\(a|b\\)*", "a", false },
	{ "a\\|b*", "a|b", true },
	{ "a\\|b*", "a", false },
	{ "[a|b]*", "|x", true },
	{ "[a|b]*", "c", false },
	{ "a{2}*", "aa", true },
	{ "a{2}*", "a", false },
	{ "a{2}*", "a{2}", false },
	{ "[ab]{2}", "ba", true },
	{ "[ab]{2}", "a", false },
	{ "[ab]{2}", "abc", false },
	{ "[ab]{2,}", "abab", true },
	{ "[ab]{2,}", "a", false },
	{ "[ab]{1,3}", "abb", true },
	{ "[ab]{1,3}", "abab", false },
	{ "x[ab]{0,2}", "x", true },
	{ "x[ab]{0,2}", "xab", true },
	{ "x[ab]{0,2}", "xabb", false },
	{ "[ab]{0}x", "x", true },
	{ "[ab]{0}x", "ax", false },
	{ "?{2}", "ab", true },
	{ "?{2}", "a", false },
	{ "?{2}", "a/", false },
	{ "{2}a*", "ab", true },
	{ "{2}a*", "xa", false },
	{ "a{,2}*", "a{,2}x", true },
	{ "a{,2}*", "aa", false },
	{ "a{02}*", "a{02}", true },
	{ "a{02}*", "aa", false },
	{ "a{1000}*", "a", false },
	{ "\\d{3}", "123", true },
	{ "\\d{3}", "12", false },
	{ "a[^/]{2}", "abc", true },
	{ "a[^/]{2}", "a/c", false },
	{ "**/{2}", "x/{2}", true },
	{ "[[:alpha:]]", "Z", true },
	{ "[[:alpha:]]", "1", false },
	{ "[[:alpha:]]", "\xC3\xA9", false },
	{ "[[:^alpha:]]", "a", false },
	{ "[[:^alpha:]]", "\xC3\xA9", true },
	{ "[[:digit:][:upper:]]x", "1x", true },
	{ "[[:digit:][:upper:]]x", "ax", false },
	{ "[[:alpha:]]{2}", "ab", true },
	{ "[[:alpha:]]{2}", "a", false },
	{ "[[:alpha:]-z]", "-", true },
	{ "[x[:alpha:]]]", "a]", true },
	{ "[x[:alpha:]]]", "x", false },
	{ "[*]", "*", false },
	{ "[*]", "]", true },
	{ "[*]", "[]", true },
	{ "[*]", "/]", true },
	{ "[*]", "a", false },
	{ "[?]", "?", false },
	{ "[?]", "[]", true },
	{ "[?]", "x]", false },
	{ "[a*]", "a]", true },
	{ "[a*]", "a[]", true },
	{ "[a*]", "a", false },
	{ "[a?]x", "ax", false },
	{ "[a?]x", "[]x", true },
	{ "[a?]x", "a", false },
	{ "[**]", "x/]", false },
	{ "[**]", "*", true },
	/* an empty \Q\E ends Go's nesting check: the repetition repeats */
	{ "a*\\Q\\E{2}", "a", true },
	{ "a*\\Q\\E{2}", "ab", true },
	{ "a*\\Q\\E{2}", "abb", true },
	{ "a*\\Q\\E{2}", "ab{2}", true },
	{ "a\\Q\\E{2}*", "aa", true },
	{ "a\\Q\\E{2}*", "a", false },
	{ "\\Q\\E{2}*", "x", true },
	{ "a{2}\\Q\\E{2}*", "aaaa", true },
	{ "a{2}\\Q\\E{2}*", "aa", false },
	{ "?\\Q\\E*", "a", true },
	{ "**/\\Q\\E{2}x*", "x", true },
	{ "**/\\Q\\E{2}x*", "a/x", true },
	{ "**/\\Q\\E{2}", "x", false },
	{ "**/\\Q\\E{2}", "a/x", false },
	{ "a/**/\\Q\\E{2,3}b*", "a/b", true },
	{ "a/**/\\Q\\E{2,3}b*", "a/x/b", true },
	{ "a/**/\\Q\\E{2,3}b*", "a/x/y/b", true },
	{ "a/**/\\Q\\E{0}b*", "a/b", true },
	{ "a/**/\\Q\\E{0}b*", "a/x/b", false },
	{ "^{0}\\Q\\E{2}x*", "x", true },
	{ "^{0}\\Q\\E{2}x*", "ax", false },
	{ "a*\\Q\\E{0,}", "a", true },
	{ "[ab]{1,2}\\Q\\E{2}", "ab", true },
	{ "[ab]{1,2}\\Q\\E{2}", "abab", true },
	{ "[ab]{1,2}\\Q\\E{2}", "a", false },
	{ "[ab]{1,2}\\Q\\E{2}", "ababa", false },
	/* New's syntax check is filepath.Match(p, "."), which stops at the
	 * first chunk that fails: the bad class after the star is only the
	 * regexp's business, and \Q makes it literal text (unanchored) */
	{ "b*\\Qa[", "bxa[$", true },
	{ "b*\\Qa[", "bxa[$yy", true },
	{ "b*\\Qa[", "bxa[", false },
	{ "!", "", false },                   /* (parse error, checked below) */
};

static void check_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		if (strcmp(rows[i].patterns, "!") == 0)
			continue;
		struct cf_ignore *ig = NULL;
		struct err *err = NULL;
		if (cf_ignore_parse(rows[i].patterns, strlen(rows[i].patterns), ".dockerignore", &ig, &err) < 0) {
			ok(0, "parse '%s': %s", rows[i].patterns, err_msg(err));
			err_free(err);
			continue;
		}
		is_int(cf_ignore_matches(ig, rows[i].path), rows[i].excluded, "'%s' vs '%s'", rows[i].patterns,
		       rows[i].path);
		cf_ignore_free(ig);
	}
}

static void check_errors(void)
{
	static const char *const bad[] = {
		"!", "a\n[abc", "x\\", "[]a]", "[a-]",
		/* regexp.Compile refuses these escapes (checked with patternmatcher) */
		"a\\y", "a\\8", "a\\1", "a\\x4", "a\\x{}", "a\\x{110000}", "a\\\xC3\xA9", "a\\Z", "a\\C",
		"[\\y]", "[a-\\d]", "[\\x43-\\x41]", "[\\b]",
		/* Go's regexp refuses these too (checked with patternmatcher) */
		"*{2}", "a/**/{2}*", "a{2}{3}*", "x*|{2}", "a{1001}*", "a{3,2}*", "a{100000000}*",
		"[[:foo:]]", "[[:alpha]:]", "[a-[:alpha:]]", "[[:alpha:]",
		/* filepath.Match's first chunk; New trims `x\ ` to `x\`; Go's
		 * regexp for the chunk filepath.Match did not reach */
		"\\Qa[", "x\\ /", "x*[",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cf_ignore *ig = NULL;
		struct err *err = NULL;
		int rc = cf_ignore_parse(bad[i], strlen(bad[i]), ".dockerignore", &ig, &err);
		is_int(rc, ERR_INVALID, "'%s' is refused", bad[i]);
		like(err_msg(err), ".dockerignore:", "the error names the file and line");
		err_free(err);
		cf_ignore_free(ig);
	}
	struct cf_ignore *ig = NULL;
	struct err *err = NULL;
	cf_ignore_parse("ok\n[", 4, "x", &ig, &err);
	like(err_msg(err), "x:2:", "the failing line is named");
	err_free(err);
	/* Go matches Unicode classes; bale refuses them rather than misread */
	static const char *const unsupported[] = { "a\\pL", "a\\p{Greek}", "[\\pL]", "\\PN", "x\n[^\\P{Han}]",
						   "a{2}\\Q\\E{2,}*" };
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
		ig = NULL;
		err = NULL;
		int rc = cf_ignore_parse(unsupported[i], strlen(unsupported[i]), ".dockerignore", &ig, &err);
		is_int(rc, ERR_UNSUPPORTED, "'%s' is refused as unsupported", unsupported[i]);
		like(err_msg(err), "is not supported: ", "the error says why");
		err_free(err);
		cf_ignore_free(ig);
	}
	err = NULL;
	cf_ignore_parse("a\n*{2}", 6, ".dockerignore", &ig, &err);
	is_str(err_msg(err),
	       ".dockerignore:2: syntax error in pattern '*{2}': Go's regexp.Compile refuses `^[^/]*{2}$`: "
	       "invalid nested repetition operator: `*{2}`",
	       "a regexp error names the line, the pattern, its regexp and Go's reason");
	err_free(err);
	/* ignorefile.ReadAll's bufio.Scanner takes lines of 65535 bytes */
	char *line = xmalloc(65537);
	memset(line, 'a', 65536);
	line[65536] = '\0';
	err = NULL;
	ig = NULL;
	is_int(cf_ignore_parse(line, 65535, ".dockerignore", &ig, &err), 0, "a 65535-byte line is read");
	cf_ignore_free(ig);
	ig = NULL;
	is_int(cf_ignore_parse(line, 65536, ".dockerignore", &ig, &err), ERR_INVALID, "a 65536-byte one is not");
	like(err_msg(err), "token too long", "as BuildKit says");
	err_free(err);
	free(line);
}

static void check_clean(void)
{
	static const char *const cases[][2] = {
		{ "", "." }, { "a/b/../c", "a/c" }, { "/../a", "/a" }, { "../a", "../a" },
		{ "a//b/./", "a/b" }, { "/", "/" }, { "a/..", "." }, { "../../x/..", "../.." },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *c = cf_path_clean(cases[i][0]);
		is_str(c, cases[i][1], "clean '%s'", cases[i][0]);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void check_load(void)
{
	char tmpl[] = "/tmp/bale-ignore-XXXXXX";
	char *dir = mkdtemp(tmpl);
	if (!ok(dir != NULL, "temp dir"))
		return;
	cleanup_free char *ctx_ignore = xasprintf("%s/.dockerignore", dir);
	cleanup_free char *cf = xasprintf("%s/app.Containerfile", dir);
	cleanup_free char *cf_ignore = xasprintf("%s/app.Containerfile.dockerignore", dir);
	struct cf_ignore *ig = NULL;
	char *used = NULL;
	ok(cf_ignore_load(dir, cf, &ig, &used, NULL) == 0 && used == NULL, "no ignore file: empty set");
	ok(!cf_ignore_matches(ig, "x"), "which excludes nothing");
	cf_ignore_free(ig);
	write_file(ctx_ignore, "from-context\n");
	ok(cf_ignore_load(dir, cf, &ig, &used, NULL) == 0, "context .dockerignore loads");
	is_str(used, ctx_ignore, "and is the one used");
	ok(cf_ignore_matches(ig, "from-context"), "its patterns apply");
	cf_ignore_free(ig);
	free(used);
	write_file(cf_ignore, "from-containerfile\n");
	ok(cf_ignore_load(dir, cf, &ig, &used, NULL) == 0, "<Containerfile>.dockerignore loads");
	is_str(used, cf_ignore, "and wins over the context's");
	ok(cf_ignore_matches(ig, "from-containerfile") && !cf_ignore_matches(ig, "from-context"),
	   "only its patterns apply");
	cf_ignore_free(ig);
	free(used);
	unlink(cf_ignore);
	unlink(ctx_ignore);
	rmdir(dir);
}

/* COPY --exclude patterns go to New directly, not through ReadAll. */
static void check_from_patterns(void)
{
	char *pats[] = { (char *)"#x", (char *)"/y", (char *)" *.log ", (char *)"!keep.log", (char *)"" };
	struct cf_ignore *ig = NULL;
	struct err *err = NULL;
	ok(cf_ignore_from_patterns(pats, ARRAY_SIZE(pats), "--exclude", &ig, &err) == 0,
	   "--exclude patterns parse");
	ok(cf_ignore_matches(ig, "#x"), "  '#x' is a pattern, not a comment");
	ok(!cf_ignore_matches(ig, "y"), "  '/y' keeps its slash (so no relative path matches)");
	ok(cf_ignore_matches(ig, "a.log") && !cf_ignore_matches(ig, "keep.log"),
	   "  trimmed patterns and exceptions work as in a file");
	cf_ignore_free(ig);
	char *bad[] = { (char *)"a[" };
	is_int(cf_ignore_from_patterns(bad, 1, "Containerfile:3: --exclude", &ig, &err), ERR_INVALID,
	       "a bad --exclude pattern is refused");
	like(err_msg(err), "Containerfile:3: --exclude: syntax error in pattern 'a['", "  naming it");
	err_free(err);
}

int main(void)
{
	check_from_patterns();
	check_table();
	check_errors();
	check_clean();
	check_load();
	return tap_done();
}
