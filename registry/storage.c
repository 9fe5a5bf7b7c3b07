/* Storage interface dispatch (see storage.h). */
#include "config.h"

#include <stdlib.h>

#include "registry/storage.h"

void reg_storage_free(struct reg_storage *s)
{
	if (s != NULL)
		s->ops->free(s);
}

int reg_blob_stat(struct reg_storage *s, const char *repo, const struct digest *d, uint64_t *size,
                  struct err **err)
{
	return s->ops->blob_stat(s, repo, d, size, err);
}

int reg_blob_open(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
                  uint64_t *size, struct err **err)
{
	return s->ops->blob_open(s, repo, d, fd, size, err);
}

int reg_blob_link(struct reg_storage *s, const char *repo, const struct digest *d, struct err **err)
{
	return s->ops->blob_link(s, repo, d, err);
}

int reg_blob_unlink(struct reg_storage *s, const char *repo, const struct digest *d,
                    struct err **err)
{
	return s->ops->blob_unlink(s, repo, d, err);
}

int reg_upload_new(struct reg_storage *s, const char *repo, char *id_out, struct err **err)
{
	return s->ops->upload_new(s, repo, id_out, err);
}

int reg_upload_open(struct reg_storage *s, const char *repo, const char *id,
                    struct reg_upload **out, struct err **err)
{
	return s->ops->upload_open(s, repo, id, out, err);
}

int reg_upload_write(struct reg_upload *u, const void *data, size_t n, struct err **err)
{
	return u->storage->ops->upload_write(u, data, n, err);
}

uint64_t reg_upload_size(const struct reg_upload *u)
{
	return u->storage->ops->upload_size(u);
}

int reg_upload_commit(struct reg_upload *u, const struct digest *expected, uint64_t *size,
                      struct err **err)
{
	return u->storage->ops->upload_commit(u, expected, size, err);
}

void reg_upload_close(struct reg_upload *u, bool cancel)
{
	if (u != NULL)
		u->storage->ops->upload_close(u, cancel);
}

int reg_upload_query(struct reg_storage *s, const char *repo, const char *id, uint64_t *size,
                     struct err **err)
{
	return s->ops->upload_status(s, repo, id, size, err);
}

int reg_upload_started(struct reg_storage *s, const char *repo, const char *id, int64_t *started,
                       struct err **err)
{
	return s->ops->upload_started(s, repo, id, started, err);
}

int reg_manifest_resolve(struct reg_storage *s, const char *repo, const char *tag,
                         struct digest *out, struct err **err)
{
	return s->ops->manifest_resolve(s, repo, tag, out, err);
}

int reg_manifest_meta(struct reg_storage *s, const char *repo, const struct digest *d,
                      struct reg_manifest_meta *out, struct err **err)
{
	return s->ops->manifest_meta(s, repo, d, out, err);
}

int reg_manifest_open(struct reg_storage *s, const char *repo, const struct digest *d, int *fd,
                      struct reg_manifest_meta *meta, struct err **err)
{
	return s->ops->manifest_open(s, repo, d, fd, meta, err);
}

int reg_manifest_put(struct reg_storage *s, const char *repo, const char *tag, const void *data,
                     size_t len, const struct reg_manifest_meta *meta,
                     const struct reg_referrer *as_referrer, const struct digest *subject,
                     struct err **err)
{
	return s->ops->manifest_put(s, repo, tag, data, len, meta, as_referrer, subject, err);
}

int reg_manifest_delete(struct reg_storage *s, const char *repo, const struct digest *d,
                        struct err **err)
{
	return s->ops->manifest_delete(s, repo, d, err);
}

int reg_tag_delete(struct reg_storage *s, const char *repo, const char *tag, struct err **err)
{
	return s->ops->tag_delete(s, repo, tag, err);
}

int reg_tags_list(struct reg_storage *s, const char *repo, char ***out, struct err **err)
{
	return s->ops->tags_list(s, repo, out, err);
}

int reg_repos_list(struct reg_storage *s, char ***out, struct err **err)
{
	return s->ops->repos_list(s, out, err);
}

int reg_referrers_list(struct reg_storage *s, const char *repo, const struct digest *subject,
                       struct reg_referrer **out, size_t *n, struct err **err)
{
	return s->ops->referrers_list(s, repo, subject, out, n, err);
}

void reg_referrers_free(struct reg_referrer *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].media_type);
		free(list[i].artifact_type);
		free(list[i].annotations);
	}
	free(list);
}
