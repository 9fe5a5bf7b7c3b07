/* libgit2, loaded on first use (common/lazylib.h). */
#include "config.h"

#include <git2.h>

#include "common/lazylib.h"

#define FUNCS(F, V, H)                                                                            \
	F(int, git_checkout_options_init, (git_checkout_options * opts, unsigned int version),     \
	  (opts, version))                                                                         \
	F(int, git_checkout_tree,                                                                  \
	  (git_repository * repo, const git_object *treeish, const git_checkout_options *opts),    \
	  (repo, treeish, opts))                                                                   \
	F(int, git_clone,                                                                          \
	  (git_repository * *out, const char *url, const char *local_path,                         \
	   const git_clone_options *options),                                                      \
	  (out, url, local_path, options))                                                         \
	F(int, git_clone_options_init, (git_clone_options * opts, unsigned int version),           \
	  (opts, version))                                                                         \
	F(const git_error *, git_error_last, (void), ())                                           \
	F(int, git_libgit2_init, (void), ())                                                       \
	F(int, git_libgit2_shutdown, (void), ())                                                   \
	F(int, git_libgit2_version, (int *major, int *minor, int *rev), (major, minor, rev))       \
	V(git_object_free, (git_object * object), (object))                                        \
	F(const git_oid *, git_object_id, (const git_object *obj), (obj))                          \
	V(git_repository_free, (git_repository * repo), (repo))                                    \
	F(int, git_repository_set_head_detached, (git_repository * repo, const git_oid *id),       \
	  (repo, id))                                                                              \
	F(int, git_revparse_single, (git_object * *out, git_repository * repo, const char *spec),  \
	  (out, repo, spec))

LAZYLIB_LIBRARY(BALE_SONAME_GIT2, BALE_PACKAGE_GIT2)
