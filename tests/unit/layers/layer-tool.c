/* A small driver of the layer writer and applier for bench/layers.sh (not a
 * test by itself):
 *   layer-tool gen DIR NFILES TOTAL_BYTES    deterministic test tree
 *   layer-tool write DIR OUT none|gzip|zstd  DIR as a layer into file OUT
 *   layer-tool apply LAYER DIR               apply a layer file
 * Prints the digests on stdout. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "layers/layer.h"

/* Text-like content (words from a small vocabulary, an LCG picking them):
 * compresses about as well as source trees and binaries mixed. */
static int gen(const char *dir, unsigned long nfiles, unsigned long long total)
{
	static const char *const words[] = {
		"the", "layer", "image", "container", "build", "static", "const", "return",
		"int", "char", "void", "struct", "if", "else", "for", "while", "0x7f", "error",
		"digest", "sha256", "blob", "manifest", "config", "{", "}", "(", ")", ";", "\n",
	};
	uint64_t x = 88172645463325252ull;
	size_t per = (size_t)(total / nfiles);
	char *buf = xmalloc(per + 64);
	mkdir(dir, 0755);
	for (unsigned long i = 0; i < nfiles; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/d%03lu", dir, i % 500);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/d%03lu/f%06lu", dir, i % 500, i);
		size_t n = 0;
		while (n < per) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			const char *w = words[x % ARRAY_SIZE(words)];
			size_t k = strlen(w);
			memcpy(buf + n, w, k);
			n += k;
			if ((x >> 20) % 4 == 0)
				buf[n++] = (char)('a' + (x >> 32) % 26);
			buf[n++] = ' ';
		}
		int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0 || write_all(fd, buf, per) < 0)
			return 1;
		close(fd);
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct err *err = NULL;
	char a[DIGEST_MAX_STRING], b[DIGEST_MAX_STRING];
	if (argc == 5 && str_eq(argv[1], "gen"))
		return gen(argv[2], strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc == 5 && str_eq(argv[1], "write")) {
		struct layer_write_opts o;
		layer_write_opts_init(&o);
		if (getenv("LAYER_THREADS") != NULL)
			o.threads = (int)strtol(getenv("LAYER_THREADS"), NULL, 10);
		if (layer_compression_parse(argv[4], &o.compression, &err) < 0)
			goto fail;
		int fd = open(argv[3], O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
		struct layer_result r;
		if (fd < 0 || layer_write_dir_fd(fd, argv[2], &o, &r, &err) < 0)
			goto fail;
		close(fd);
		printf("diff_id %s\nblob %s\n", digest_format(&r.diff_id, a), digest_format(&r.blob, b));
		return 0;
	}
	if (argc == 4 && str_eq(argv[1], "apply")) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		struct digest d;
		if (fd < 0 || layer_apply_fd(fd, argv[3], NULL, &d, &err) < 0)
			goto fail;
		printf("diff_id %s\n", digest_format(&d, a));
		return 0;
	}
	fprintf(stderr, "usage: layer-tool gen DIR N BYTES | write DIR OUT COMP | apply LAYER DIR\n");
	return 2;
fail:
	fprintf(stderr, "layer-tool: %s\n", err ? err_msg(err) : "cannot open file");
	err_free(err);
	return 1;
}
