/* The help text of every command (its man page, rendered by
 * build-aux/scd2txt.awk) against the command's getopt table: every long
 * option is documented in OPTIONS, every documented option exists, a short
 * name documented beside a long one is the value getopt_long returns for
 * it. The same for bale(1) and the global options. Also the text layout
 * the shell completion reads: "usage: bale CMD" first, option lines
 * indented by two spaces, nothing wider than 80 columns. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cmd/bale.h"
#include "cmd/commands.h"
#include "tests/tap.h"

#define MAX_DOC_OPTS 64

struct doc_opt {
	char name[64]; /* long name without "--" */
	int short_name;  /* 0 when none */
};

/* The options of the OPTIONS section of text: each line indented by
 * exactly two spaces whose first word starts with '-'. Returns how many,
 * or -1 when a line is malformed (reported). */
static int doc_options(const char *page, const char *text, struct doc_opt *out, size_t max)
{
	const char *sec = strstr(text, "\nOPTIONS\n");
	int n = 0;
	if (sec == NULL)
		return 0;
	for (const char *p = sec + strlen("\nOPTIONS\n"); *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		if (len > 0 && p[0] != ' ')
			break; /* the next section */
		if (len > 3 && p[0] == ' ' && p[1] == ' ' && p[2] == '-') {
			char line[256];
			snprintf(line, sizeof(line), "%.*s", (int)len - 2, p + 2);
			int short_name = 0;
			char *w = line;
			if (w[1] != '-') { /* "-t, --tag ..." */
				if (strncmp(w + 2, ", --", 4) != 0 || (size_t)n >= max) {
					diag("%s: malformed option line '%s'", page, line);
					return -1;
				}
				short_name = w[1];
				w += 4;
			}
			size_t nl = strcspn(w + 2, " [="); /* "--tls-verify[=true|false]" */
			if ((size_t)n >= max || nl == 0 || nl >= sizeof(out[n].name)) {
				diag("%s: malformed option line '%s'", page, line);
				return -1;
			}
			snprintf(out[n].name, sizeof(out[n].name), "%.*s", (int)nl, w + 2);
			out[n].short_name = short_name;
			n++;
		} else if (len > 0 && strncmp(p, "      ", 6) != 0) {
			diag("%s: OPTIONS line neither an option nor indented 6: '%.*s'", page,
			     (int)len, p);
			return -1;
		}
		p = eol != NULL ? eol + 1 : p + len;
	}
	return n;
}

static void check_page(const char *page, const char *text, const struct option *table)
{
	struct doc_opt doc[MAX_DOC_OPTS];
	int n = doc_options(page, text, doc, MAX_DOC_OPTS);
	ok(n >= 0, "%s: OPTIONS is well formed", page);
	if (n < 0)
		return;
	size_t n_table = 0;
	while (table[n_table].name != NULL)
		n_table++;
	for (size_t i = 0; i < n_table; i++) {
		int found = -1;
		for (int j = 0; j < n && found < 0; j++)
			if (strcmp(doc[j].name, table[i].name) == 0)
				found = j;
		ok(found >= 0, "%s: --%s is documented", page, table[i].name);
		if (found >= 0 && doc[found].short_name != 0)
			ok(doc[found].short_name == table[i].val, "%s: -%c is --%s", page,
			   doc[found].short_name, table[i].name);
	}
	for (int j = 0; j < n; j++) {
		bool found = false;
		for (size_t i = 0; i < n_table && !found; i++)
			found = strcmp(doc[j].name, table[i].name) == 0;
		ok(found, "%s: documented --%s is in the getopt table", page, doc[j].name);
	}
}

static void check_layout(const char *page, const char *name, const char *text)
{
	char want[64];
	snprintf(want, sizeof(want), "usage: bale %s", name);
	ok(strncmp(text, want, strlen(want)) == 0, "%s: starts with '%s'", page, want);
	int widest = 0, line = 0, widest_line = 0;
	for (const char *p = text; *p != '\0';) {
		const char *eol = strchr(p, '\n');
		int len = eol != NULL ? (int)(eol - p) : (int)strlen(p);
		line++;
		if (len > widest) {
			widest = len;
			widest_line = line;
		}
		p = eol != NULL ? eol + 1 : p + len;
	}
	ok(widest <= 80, "%s: no line wider than 80 columns (line %d has %d)", page, widest_line,
	   widest);
	ok(text[strlen(text) - 1] == '\n', "%s: ends with a newline", page);
}

int main(void)
{
	for (size_t i = 0; bale_commands[i] != NULL; i++) {
		const struct bale_command *c = bale_commands[i];
		char page[64];
		snprintf(page, sizeof(page), "bale-%s(1)", c->name);
		ok(c->usage != NULL && c->options != NULL && c->summary != NULL && c->summary[0] != '\0',
		   "%s: has a page, an options table and a summary", page);
		if (c->usage == NULL || c->options == NULL)
			continue;
		check_layout(page, c->name, c->usage);
		check_page(page, c->usage, c->options);
	}
	check_layout("bale(1)", "", bale_help_bale);
	check_page("bale(1)", bale_help_bale, bale_global_options);
	/* The reader itself: option lines, short names, the end of the
	 * section. */
	struct doc_opt doc[MAX_DOC_OPTS];
	const char *text = "usage: bale x\n\nOPTIONS\n  -a, --alpha\n      A.\n\n  --gamma G\n"
			   "      G.\n\nSEE ALSO\n  -b\n";
	int n = doc_options("self-test", text, doc, MAX_DOC_OPTS);
	is_int(n, 2, "self-test: two options found, the section ends at SEE ALSO");
	ok(n == 2 && strcmp(doc[0].name, "alpha") == 0 && doc[0].short_name == 'a' &&
		   strcmp(doc[1].name, "gamma") == 0 && doc[1].short_name == 0,
	   "self-test: names and short names read");
	return tap_done();
}
