/* Image references (`registry.example:5000/team/app:1.0@sha256:...`),
 * parsed and normalized the way docker does it, following the grammar of
 * distribution's reference package:
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [ domain "/" ] path
 *   domain           := host [ ":" port ]
 *   host             := domain-name | "[" [a-fA-F0-9:]+ "]"
 *   domain-name      := domain-component ( "." domain-component )*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
 *   port             := [0-9]+
 *   path             := path-component ( "/" path-component )*   (<= 255 chars)
 *   path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator        := "." | "_" | "__" | "-"+
 *   tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest           := as common/digest.h (sha256/sha512, lowercase hex)
 *
 * The path limit is on the path alone, without the domain, as current
 * distribution does (docker 20.10 counted the domain too). A whole reference
 * is capped at BALE_MAX_REFERENCE bytes before anything else is looked at.
 */
#ifndef BALE_COMMON_REFERENCE_H
#define BALE_COMMON_REFERENCE_H

#include <stdbool.h>

#include "common/error.h"

/* Docker Hub's canonical domain and default tag, as docker normalizes. */
#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_DEFAULT_TAG "latest"

/* A parsed reference. Every field is owned by the struct (ref_release()
 * frees them); a field the reference does not have is NULL. */
struct ref {
	char *domain; /* "localhost:5000", "[::1]:5000", "docker.io"; NULL if none */
	char *path;   /* repository path without domain: "library/busybox" */
	char *tag;    /* "1.0"; NULL if none */
	char *digest; /* "sha256:<64 hex>"; NULL if none */
};

/* Parse s strictly, exactly as written, with no defaults (distribution's
 * reference.Parse): "busybox" has no domain and no tag, and the first of
 * several components is the domain whenever it is a valid domain, so
 * "library/busybox" yields domain "library" and path "busybox". A bare
 * "@digest" is rejected: a reference needs a name.
 * On success *out holds new strings the caller releases with ref_release();
 * on failure *out is zeroed (ref_release() is still safe). *out must not hold
 * strings already: they would leak. Errors: ERR_TOOBIG (over
 * BALE_MAX_REFERENCE), ERR_UNSUPPORTED (a grammatical digest of an unknown
 * algorithm), ERR_INVALID (everything else), each naming the part and why. */
int ref_parse(struct ref *out, const char *s, struct err **err);

/* Parse s the way docker's ParseNormalizedNamed does and add the default
 * tag: "busybox" -> docker.io/library/busybox:latest, "user/app" ->
 * docker.io/user/app:latest, "index.docker.io/x" -> docker.io/library/x.
 * The first component is a domain when there are several and it is
 * "localhost", contains '.' or ':', or has an uppercase letter; otherwise
 * the domain is docker.io, where a one-component path gets "library/".
 * "latest" is added only when there is neither tag nor digest. A lone
 * 64-hex string is rejected (it is an image ID), as is uppercase in the
 * path ("repository name must be lowercase"). domain and path are never NULL
 * afterwards, and neither is one of tag/digest. The result formats to at
 * most BALE_MAX_REFERENCE bytes, so it always parses again.
 * Ownership and errors as ref_parse(). */
int ref_parse_normalized(struct ref *out, const char *s, struct err **err);

/* "domain/path[:tag][@digest]" (no "domain/" when domain is NULL).
 * The caller frees the string. */
char *ref_string(const struct ref *r);

/* "domain/path" (just the path when domain is NULL). The caller frees. */
char *ref_name(const struct ref *r);

/* The short form docker shows (FamiliarString): "busybox:latest",
 * "user/app:1", "reg.local:5000/app:1". For a reference from
 * ref_parse_normalized() the result always normalizes back to it: unlike
 * docker, "docker.io/" stays where the next component would then read as a
 * domain (docker.io/foo.bar/x, docker.io/localhost/x), and "library/" where
 * the rest alone would read as an image ID. The caller frees. */
char *ref_familiar(const struct ref *r);

/* Free the strings of r and zero it; r itself is not freed. */
void ref_release(struct ref *r);

/* A repository name as registries see it in the API (/v2/<name>/...):
 * path components only, no domain, at most BALE_MAX_REPO_NAME characters.
 * check: 0 or ERR_INVALID with the reason; valid: the same as a bool. */
int ref_repo_name_check(const char *name, struct err **err);
bool ref_repo_name_valid(const char *name);

/* A tag alone: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 * check: 0 or ERR_INVALID with the reason; valid: the same as a bool. */
int ref_tag_check(const char *tag, struct err **err);
bool ref_tag_valid(const char *tag);

/* A registry domain alone ("host", "host:port", "[v6]:port"), as in a
 * reference. check: 0 or ERR_INVALID with the reason. */
int ref_domain_check(const char *domain, struct err **err);
bool ref_domain_valid(const char *domain);

static inline void ref_releasep(struct ref *r)
{
	ref_release(r);
}
#define cleanup_ref __attribute__((cleanup(ref_releasep)))

#endif
