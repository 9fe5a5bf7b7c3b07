/* libarchive, loaded on first use (common/lazylib.h). */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>

#include "common/lazylib.h"

/* struct archive_entry */
#define ENTRY_FUNCS(F, V)                                                                         \
	F(struct archive_entry *, archive_entry_clear, (struct archive_entry * e), (e))            \
	V(archive_entry_copy_pathname, (struct archive_entry * e, const char *s), (e, s))          \
	V(archive_entry_copy_symlink, (struct archive_entry * e, const char *s), (e, s))           \
	F(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))                    \
	V(archive_entry_free, (struct archive_entry * e), (e))                                     \
	F(la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))                          \
	F(const char *, archive_entry_hardlink, (struct archive_entry * e), (e))                   \
	F(__LA_MODE_T, archive_entry_mode, (struct archive_entry * e), (e))                        \
	F(time_t, archive_entry_mtime, (struct archive_entry * e), (e))                            \
	F(long, archive_entry_mtime_nsec, (struct archive_entry * e), (e))                         \
	F(struct archive_entry *, archive_entry_new, (void), ())                                   \
	F(const char *, archive_entry_pathname, (struct archive_entry * e), (e))                   \
	F(dev_t, archive_entry_rdev, (struct archive_entry * e), (e))                              \
	V(archive_entry_set_filetype, (struct archive_entry * e, unsigned int t), (e, t))          \
	V(archive_entry_set_gid, (struct archive_entry * e, la_int64_t g), (e, g))                 \
	V(archive_entry_set_hardlink, (struct archive_entry * e, const char *s), (e, s))           \
	V(archive_entry_set_mode, (struct archive_entry * e, __LA_MODE_T m), (e, m))               \
	V(archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns))      \
	V(archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T m), (e, m))               \
	V(archive_entry_set_rdevmajor, (struct archive_entry * e, dev_t d), (e, d))                \
	V(archive_entry_set_rdevminor, (struct archive_entry * e, dev_t d), (e, d))                \
	V(archive_entry_set_size, (struct archive_entry * e, la_int64_t s), (e, s))                \
	V(archive_entry_set_uid, (struct archive_entry * e, la_int64_t u), (e, u))                 \
	F(la_int64_t, archive_entry_size, (struct archive_entry * e), (e))                         \
	F(const char *, archive_entry_symlink, (struct archive_entry * e), (e))                    \
	F(la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))                          \
	V(archive_entry_xattr_add_entry,                                                           \
	  (struct archive_entry * e, const char *name, const void *value, size_t size),            \
	  (e, name, value, size))                                                                  \
	F(int, archive_entry_xattr_next,                                                           \
	  (struct archive_entry * e, const char **name, const void **value, size_t *size),         \
	  (e, name, value, size))                                                                  \
	F(int, archive_entry_xattr_reset, (struct archive_entry * e), (e))

/* struct archive, reading and writing */
#define ARCHIVE_FUNCS(F, V)                                                                       \
	F(const char *, archive_error_string, (struct archive * a), (a))                           \
	F(la_int64_t, archive_filter_bytes, (struct archive * a, int n), (a, n))                   \
	F(la_ssize_t, archive_read_data, (struct archive * a, void *buf, size_t len),              \
	  (a, buf, len))                                                                           \
	F(int, archive_read_data_block,                                                            \
	  (struct archive * a, const void **buf, size_t *size, la_int64_t *offset),                \
	  (a, buf, size, offset))                                                                  \
	F(int, archive_read_data_skip, (struct archive * a), (a))                                  \
	F(int, archive_read_free, (struct archive * a), (a))                                       \
	F(struct archive *, archive_read_new, (void), ())                                          \
	F(int, archive_read_next_header, (struct archive * a, struct archive_entry **e), (a, e))   \
	F(int, archive_read_open1, (struct archive * a), (a))                                      \
	F(int, archive_read_open_fd, (struct archive * a, int fd, size_t block_size),              \
	  (a, fd, block_size))                                                                     \
	F(int, archive_read_set_callback_data, (struct archive * a, void *data), (a, data))        \
	F(int, archive_read_set_read_callback, (struct archive * a, archive_read_callback * cb),   \
	  (a, cb))                                                                                 \
	F(int, archive_read_set_skip_callback, (struct archive * a, archive_skip_callback * cb),   \
	  (a, cb))                                                                                 \
	F(int, archive_read_support_filter_all, (struct archive * a), (a))                         \
	F(int, archive_read_support_format_raw, (struct archive * a), (a))                         \
	F(int, archive_read_support_format_tar, (struct archive * a), (a))                         \
	F(const char *, archive_version_details, (void), ())                                       \
	F(int, archive_write_close, (struct archive * a), (a))                                     \
	F(la_ssize_t, archive_write_data, (struct archive * a, const void *buf, size_t len),      \
	  (a, buf, len))                                                                           \
	F(int, archive_write_free, (struct archive * a), (a))                                      \
	F(int, archive_write_header, (struct archive * a, struct archive_entry * e), (a, e))       \
	F(struct archive *, archive_write_new, (void), ())                                         \
	F(int, archive_write_open,                                                                 \
	  (struct archive * a, void *data, archive_open_callback *open_cb,                         \
	   archive_write_callback *write_cb, archive_close_callback *close_cb),                    \
	  (a, data, open_cb, write_cb, close_cb))                                                  \
	F(int, archive_write_open_fd, (struct archive * a, int fd), (a, fd))                       \
	F(int, archive_write_set_bytes_per_block, (struct archive * a, int bytes), (a, bytes))     \
	F(int, archive_write_set_format_pax_restricted, (struct archive * a), (a))

#define FUNCS(F, V, H) ENTRY_FUNCS(F, V) ARCHIVE_FUNCS(F, V)

LAZYLIB_LIBRARY(BALE_SONAME_ARCHIVE, BALE_PACKAGE_ARCHIVE)
