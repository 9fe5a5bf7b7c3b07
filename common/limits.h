/* Every cap on data that comes from outside, in one place (STYLE.md:
 * "Every buffer filled from outside has a cap, named in one header").
 * Raising one is a design decision: say why in the commit. */
#ifndef BALE_COMMON_LIMITS_H
#define BALE_COMMON_LIMITS_H

/* An image reference, as distribution's reference package allows. */
#define BALE_MAX_REFERENCE 4096
/* Repository name (path component part), distribution's NameTotalLengthMax. */
#define BALE_MAX_REPO_NAME 255
/* A tag: [\w][\w.-]{0,127}. */
#define BALE_MAX_TAG 128
/* Manifests and indexes, pushed or pulled (distribution's default is 4 MiB). */
#define BALE_MAX_MANIFEST (4u << 20)
/* An image config blob read into memory. */
#define BALE_MAX_CONFIG (8u << 20)
/* Any other JSON document read whole (index.json, credentials, API errors). */
#define BALE_MAX_JSON (16u << 20)
/* A YAML configuration file. */
#define BALE_MAX_YAML (1u << 20)
/* Deepest nesting jx_dump writes (the same as jansson reads), so a cycle
 * built by mistake is an error rather than a stack overflow. */
#define JX_MAX_DEPTH 2048
/* YAML: deepest nesting of mappings and sequences (real configs use < 10),
 * anchors per document, and the memory alias copies may add (so a "billion
 * laughs" document fails early). */
#define YML_MAX_DEPTH 64
#define YML_MAX_ANCHORS 1024
#define YML_MAX_ALIAS_BYTES (4u << 20)
/* A Containerfile (BuildKit refuses much smaller files in practice). */
#define BALE_MAX_CONTAINERFILE (8u << 20)
/* One logical line after joining continuations. */
#define BALE_MAX_LINE (1u << 20)
/* A filesystem path we build or accept. */
#define BALE_MAX_PATH 4096
/* Symlinks followed while resolving one path inside a root (Linux: 40). */
#define BALE_MAX_SYMLINKS 40
/* An HTTP header value we keep (WWW-Authenticate, Link, Location). */
#define BALE_MAX_HEADER 8192
/* Log line built in memory before writing. */
#define BALE_MAX_LOG_LINE 16384

#endif
