#define FUSE_USE_VERSION 312

#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Entry and attribute timeouts: content changes are pushed by invalidation. */
#define FS_CACHE_TIMEOUT	86400.0

enum {
	INO_ROOT = FUSE_ROOT_ID,
	INO_REGISTER,
	INO_PEERS,
	INO_LEADER,
	INO_JSON,
	INO_SELF,
	INO_STATUS,
	INO_END,
};

/* One immutable version of a file's bytes. */
struct blob {
	unsigned int refs;		/* atomic */
	struct snapshot *snap;		/* owns data when set */
	const uint8_t *data;
	size_t len;
	const uint8_t *key;		/* change key (snapshot.h json_key); NULL: data */
	size_t key_len;
	struct timespec mtime;
	uint8_t own[];
};

struct fs_file {
	const char *name;
	mode_t perm;
	bool evented;		/* part of the inotify contract */
	/* The fields below are guarded by fs.lock. */
	struct blob *cur;	/* the latest content */
	unsigned int events;	/* write-through events still to deliver */
	bool inval;		/* kernel cache still to invalidate */
	uint64_t nlookup;	/* kernel references to this inode */
};

struct reg_job {
	fuse_req_t req;
	enum fs_reg_op op;
	size_t size;
	struct reg_job *next;
};

struct fs {
	struct fuse_session *se;
	struct fs_config cfg;
	char *mountpoint;
	bool mounted;
	pthread_t notifier, reg_worker;
	bool threads_started;
	pid_t notifier_tid;		/* atomic; 0 until it runs */
	/* lock guards files[].cur/events/inval/nlookup and all below. */
	pthread_mutex_t lock;
	pthread_cond_t notify_cond;	/* notifier: work or stop */
	pthread_cond_t idle_cond;	/* fs_flush(): notifier idle */
	pthread_cond_t reg_cond;	/* request thread: job or stop */
	bool running;			/* fs_run() started: raise events */
	bool stopping;
	bool notifier_busy;
	struct reg_job *reg_head, **reg_tail;
	size_t reg_len;
	struct timespec last_mtime;
	bool has_gen;			/* a snapshot was published */
	uint64_t gen;			/* its generation */
	struct fs_file files[INO_END];
};

static const struct {
	const char *name;
	mode_t perm;
	bool evented;
} file_table[INO_END] = {
	[INO_REGISTER] = { "register", 0644, false },
	[INO_PEERS] = { "peers", 0444, true },
	[INO_LEADER] = { "leader", 0444, true },
	[INO_JSON] = { "peers.json", 0444, true },
	[INO_SELF] = { "self", 0444, false },
	[INO_STATUS] = { "status", 0444, false },
};

static const char *const reg_words[] = { "", "register", "1" };

int
fs_register_parse(const uint8_t *data, size_t len, enum fs_reg_op *ret_op)
{
	size_t i;

	if (len > FS_REGISTER_WRITE_MAX)
		return -EINVAL;
	if (len > 0 && data[len - 1] == '\n')
		len--;
	for (i = 0; i < sizeof(reg_words) / sizeof(reg_words[0]); i++)
		if (len == strlen(reg_words[i]) &&
		    memcmp(data, reg_words[i], len) == 0) {
			*ret_op = FS_REG_REGISTER;
			return 0;
		}
	if (len == 5 && memcmp(data, "leave", 5) == 0) {
		*ret_op = FS_REG_LEAVE;
		return 0;
	}
	return -EINVAL;
}

/* ---- blobs ---- */

static void
blob_unref(struct blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		snapshot_unref(b->snap);
		free(b);
	}
}

static struct blob *
blob_ref(struct blob *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

static struct blob *
blob_new_copy(const void *data, size_t len)
{
	struct blob *b = malloc(sizeof(*b) + len + 1);

	if (!b)
		return NULL;
	b->refs = 1;
	b->snap = NULL;
	if (len)
		memcpy(b->own, data, len);
	b->own[len] = '\0';
	b->data = b->own;
	b->len = len;
	b->key = NULL;
	b->key_len = 0;
	return b;
}

static struct blob *
blob_new_snap(struct snapshot *s, const struct buf *part, const struct buf *key)
{
	struct blob *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	b->refs = 1;
	b->snap = snapshot_ref(s);
	b->data = part->data ? part->data : (const uint8_t *)"";
	b->len = part->len;
	b->key = NULL;
	b->key_len = 0;
	if (key) {
		b->key = key->data ? key->data : (const uint8_t *)"";
		b->key_len = key->len;
	}
	return b;
}

static bool
bytes_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
blob_same(const struct blob *a, const struct blob *b)
{
	return bytes_same(a->data, a->len, b->data, b->len);
}

/* Same change key: both carry one (else the bytes are the key) and equal. */
static bool
blob_same_key(const struct blob *a, const struct blob *b)
{
	if (!a->key || !b->key)
		return blob_same(a, b);
	return bytes_same(a->key, a->key_len, b->key, b->key_len);
}

/* A fresh mtime, strictly later than any before: the kernel's auto
 * invalidation drops cached pages when it sees the mtime change.  fs.lock. */
static struct timespec
fs_next_mtime(struct fs *fs)
{
	struct timespec now, *last = &fs->last_mtime;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec < last->tv_sec ||
	    (now.tv_sec == last->tv_sec && now.tv_nsec <= last->tv_nsec)) {
		now = *last;
		if (++now.tv_nsec >= 1000000000L) {
			now.tv_nsec = 0;
			now.tv_sec++;
		}
	}
	*last = now;
	return now;
}

/*
 * Install b as the content of file ino (takes over the caller's reference).
 * Returns true when the bytes changed.  fs.lock held.
 */
static bool
fs_swap_locked(struct fs *fs, int ino, struct blob *b)
{
	struct fs_file *f = &fs->files[ino];
	bool keyed;

	if (f->cur && blob_same(f->cur, b)) {
		blob_unref(b);
		return false;
	}
	/* only the volatile part changed: fresh bytes, no event */
	keyed = f->cur && blob_same_key(f->cur, b);
	b->mtime = fs_next_mtime(fs);
	blob_unref(f->cur);
	f->cur = b;
	if (fs->running) {
		f->inval = true;
		if (f->evented && !keyed)
			f->events++;
		pthread_cond_signal(&fs->notify_cond);
	}
	return true;
}

/* ---- attributes ---- */

static void
fs_fill_attr(const struct fs *fs, fuse_ino_t ino, const struct blob *b,
    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		st->st_mtim = fs->last_mtime;
	} else {
		st->st_mode = S_IFREG | fs->files[ino].perm;
		st->st_nlink = 1;
		/* the kernel checks group writers (default_permissions) */
		if (ino == INO_REGISTER && fs->cfg.has_register_gid)
			st->st_gid = (gid_t)fs->cfg.register_gid;
		st->st_size = (off_t)b->len;
		st->st_mtim = b->mtime;
	}
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
}

/* Describe ino to the kernel from its current content. */
static void
fs_describe(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct fs_file *f = &fs->files[ino];

	pthread_mutex_lock(&fs->lock);
	fs_fill_attr(fs, ino, ino == INO_ROOT ? NULL : f->cur, st);
	pthread_mutex_unlock(&fs->lock);
}

static struct fs *
req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static bool
ino_valid(fuse_ino_t ino)
{
	return ino >= INO_ROOT && ino < INO_END;
}

/* ---- request handlers ---- */

static void
fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* O_TRUNC must arrive as SETATTR so it can be refused. */
	conn->want &= ~(unsigned int)(FUSE_CAP_ATOMIC_O_TRUNC |
	    FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_EXPLICIT_INVAL_DATA);
}

static void
fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fuse_entry_param e;
	fuse_ino_t ino;

	if (parent != INO_ROOT)
		return (void)fuse_reply_err(req, ENOENT);
	for (ino = INO_REGISTER; ino < INO_END; ino++)
		if (strcmp(name, fs->files[ino].name) == 0)
			break;
	if (ino == INO_END)
		return (void)fuse_reply_err(req, ENOENT);
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = FS_CACHE_TIMEOUT;
	e.entry_timeout = FS_CACHE_TIMEOUT;
	fs_describe(fs, ino, &e.attr);
	__atomic_add_fetch(&fs->files[ino].nlookup, 1, __ATOMIC_RELAXED);
	if (fuse_reply_entry(req, &e) != 0)
		__atomic_sub_fetch(&fs->files[ino].nlookup, 1, __ATOMIC_RELAXED);
}

static void
fs_forget_one(struct fs *fs, fuse_ino_t ino, uint64_t n)
{
	if (ino_valid(ino) && ino != INO_ROOT)
		__atomic_sub_fetch(&fs->files[ino].nlookup, n, __ATOMIC_RELAXED);
}

static void
fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_forget_one(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void
fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *fl)
{
	size_t i;

	for (i = 0; i < count; i++)
		fs_forget_one(req_fs(req), fl[i].ino, fl[i].nlookup);
	fuse_reply_none(req);
}

static void
fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (!ino_valid(ino))
		return (void)fuse_reply_err(req, ENOENT);
	fs_describe(req_fs(req), ino, &st);
	fuse_reply_attr(req, &st, FS_CACHE_TIMEOUT);
}

static void
fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct stat st;

	(void)attr;
	(void)fi;
	if (!ino_valid(ino))
		return (void)fuse_reply_err(req, ENOENT);
	if (to_set != FUSE_SET_ATTR_SIZE)
		return (void)fuse_reply_err(req, EPERM);
	if (ino != INO_REGISTER)
		return (void)fuse_reply_err(req, EACCES);
	/*
	 * "echo register > /p2p/register": accept the truncation as a no-op but
	 * report size 0, already stale, so the kernel drops its cached state
	 * text before the write copies into it, and asks again next time.
	 */
	fs_describe(req_fs(req), ino, &st);
	st.st_size = 0;
	st.st_blocks = 0;
	fuse_reply_attr(req, &st, 0.0);
}

static bool
fs_is_notifier(struct fs *fs, fuse_req_t req)
{
	pid_t tid = __atomic_load_n(&fs->notifier_tid, __ATOMIC_ACQUIRE);

	return tid != 0 && fuse_req_ctx(req)->pid == tid;
}

static void
fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	int acc = fi->flags & O_ACCMODE;

	/* Fast mode: the kernel stops sending open and keeps its cache. */
	if (fs->cfg.mode == FS_MODE_FAST)
		return (void)fuse_reply_err(req, ENOSYS);
	if (!ino_valid(ino) || ino == INO_ROOT)
		return (void)fuse_reply_err(req, EISDIR);
	if (ino == INO_REGISTER) {
		fi->direct_io = 1;
		return (void)fuse_reply_open(req, fi);
	}
	if (acc != O_RDONLY) {
		if (!fs->files[ino].evented || !fs_is_notifier(fs, req))
			return (void)fuse_reply_err(req, EACCES);
		fi->direct_io = 1;
		return (void)fuse_reply_open(req, fi);
	}
	/*
	 * Strict: every read on this open is served from the version current
	 * at open(), bypassing the page cache, so no read ever mixes versions.
	 */
	pthread_mutex_lock(&fs->lock);
	fi->fh = (uint64_t)(uintptr_t)blob_ref(fs->files[ino].cur);
	pthread_mutex_unlock(&fs->lock);
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0)
		blob_unref((struct blob *)(uintptr_t)fi->fh);
}

static void
fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (fi->fh)
		blob_unref((struct blob *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void
fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct fs_file *f;
	struct blob *b;
	size_t n = 0;

	if (!ino_valid(ino) || ino == INO_ROOT)
		return (void)fuse_reply_err(req, EISDIR);
	f = &fs->files[ino];
	pthread_mutex_lock(&fs->lock);
	/* Strict mode pins one version per open; else the current one. */
	b = blob_ref(fi->fh ? (struct blob *)(uintptr_t)fi->fh : f->cur);
	pthread_mutex_unlock(&fs->lock);
	if (off >= 0 && (uint64_t)off < b->len)
		n = b->len - (size_t)off < size ? b->len - (size_t)off : size;
	fuse_reply_buf(req, n ? (const char *)b->data + off : NULL, n);
	blob_unref(b);
}

static int
fs_reg_enqueue(struct fs *fs, fuse_req_t req, enum fs_reg_op op, size_t size)
{
	struct reg_job *j;
	int r = 0;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->req = req;
	j->op = op;
	j->size = size;
	pthread_mutex_lock(&fs->lock);
	if (fs->stopping)
		r = -ESHUTDOWN;
	else if (fs->reg_len >= FS_REG_QUEUE_MAX)
		r = -EAGAIN;
	if (r == 0) {
		*fs->reg_tail = j;
		fs->reg_tail = &j->next;
		fs->reg_len++;
		pthread_cond_signal(&fs->reg_cond);
	}
	pthread_mutex_unlock(&fs->lock);
	if (r < 0)
		free(j);
	return r;
}

static void
fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	enum fs_reg_op op;
	int r;

	(void)off;
	(void)fi;
	if (!ino_valid(ino) || ino == INO_ROOT)
		return (void)fuse_reply_err(req, EISDIR);
	if (ino != INO_REGISTER) {
		if (fs->files[ino].evented && fs_is_notifier(fs, req))
			return (void)fuse_reply_write(req, size);
		return (void)fuse_reply_err(req, EACCES);
	}
	r = fs_register_parse((const uint8_t *)data, size, &op);
	if (r == 0)
		r = fs_reg_enqueue(fs, req, op, size);
	if (r < 0)
		fuse_reply_err(req, -r);
	/* else: the request thread answers once cfg.reg_request() returns */
}

static void
fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	char buf[1024];
	size_t pos = 0, n;
	struct stat st;
	off_t i;

	(void)fi;
	if (ino != INO_ROOT)
		return (void)fuse_reply_err(req, ENOTDIR);
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (i = off; i < INO_END; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." :
		    fs->files[i].name;

		memset(&st, 0, sizeof(st));
		st.st_ino = i < 2 ? INO_ROOT : (ino_t)i;
		st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
		n = fuse_add_direntry(req, buf + pos, size - pos, name, &st,
		    i + 1);
		if (n > size - pos)
			break;
		pos += n;
	}
	fuse_reply_buf(req, buf, pos);
}

static void
fs_op_refuse_new(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EACCES);
}

static void
fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)fi;
	fs_op_refuse_new(req, parent, name, mode, 0);
}

static void
fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fs_op_refuse_new(req, parent, name, mode, 0);
}

static void
fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void
fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EPERM);
}

static void
fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	(void)link;
	fs_op_refuse_new(req, parent, name, 0, 0);
}

static void
fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	(void)ino;
	fs_op_refuse_new(req, newparent, newname, 0, 0);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_op_init,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.setattr = fs_op_setattr,
	.open = fs_op_open,
	.read = fs_op_read,
	.release = fs_op_release,
	.write = fs_op_write,
	.readdir = fs_op_readdir,
	.mknod = fs_op_refuse_new,
	.mkdir = fs_op_mkdir,
	.create = fs_op_create,
	.unlink = fs_op_unlink,
	.rmdir = fs_op_unlink,
	.rename = fs_op_rename,
	.symlink = fs_op_symlink,
	.link = fs_op_link,
};

/* ---- the notifier thread: invalidations and write-through events ---- */

/*
 * Invalidate what the kernel caches of ino.  For register only the
 * attributes: a register write holds its page locked until the request
 * thread answers it, so invalidating its pages could wait on (or, from the
 * request thread, deadlock with) that write.  Stale attributes suffice: the
 * next reader asks for them, sees the new mtime, and the kernel drops the
 * pages itself (FUSE_CAP_AUTO_INVAL_DATA) in the reader's context.
 */
static void
fs_inval(struct fs *fs, fuse_ino_t ino)
{
	int r;

	if (__atomic_load_n(&fs->files[ino].nlookup, __ATOMIC_RELAXED) == 0)
		return;		/* the kernel holds nothing of it */
	r = fuse_lowlevel_notify_inval_inode(fs->se, ino,
	    ino == INO_REGISTER ? -1 : 0, 0);
	if (r < 0 && r != -ENOENT)
		log_debug("fs: invalidating '%s': %s", fs->files[ino].name,
		    strerror(-r));
}

/*
 * Raise IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE on the file by writing one byte
 * through the mount.  O_DIRECT keeps the byte out of the page cache, so a
 * reader racing this never sees it; the write handler discards it.  For an
 * empty file the kernel briefly believes size 1, and the write itself marks
 * the size stale, so the next reader asks and gets 0.
 */
static void
fs_write_through(struct fs *fs, fuse_ino_t ino, uint8_t byte)
{
	char path[PATH_MAX];
	int fd, r;

	r = snprintf(path, sizeof(path), "%s/%s", fs->mountpoint,
	    fs->files[ino].name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return log_warnx("fs: path of '%s' too long", fs->files[ino].name);
	fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return log_warn("fs: open '%s' for the change event", path);
	if (pwrite(fd, &byte, 1, 0) != 1)
		log_warn("fs: write '%s' for the change event", path);
	if (close(fd) < 0)
		log_warn("fs: close '%s'", path);
}

/* Next file with work for the notifier, or 0.  fs.lock held. */
static fuse_ino_t
fs_next_work(const struct fs *fs)
{
	fuse_ino_t ino;

	for (ino = INO_REGISTER; ino < INO_END; ino++) {
		const struct fs_file *f = &fs->files[ino];

		if (f->events || f->inval)
			return ino;
	}
	return 0;
}

static void *
fs_notifier_main(void *arg)
{
	struct fs *fs = arg;
	fuse_ino_t ino;
	bool event;
	uint8_t byte;

	__atomic_store_n(&fs->notifier_tid, gettid(), __ATOMIC_RELEASE);
	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		ino = fs_next_work(fs);
		if (!ino) {
			fs->notifier_busy = false;
			pthread_cond_broadcast(&fs->idle_cond);
			pthread_cond_wait(&fs->notify_cond, &fs->lock);
			continue;
		}
		fs->notifier_busy = true;
		event = fs->files[ino].events > 0;
		if (event)
			fs->files[ino].events--;
		fs->files[ino].inval = false;
		byte = fs->files[ino].cur->len ? fs->files[ino].cur->data[0] : '\n';
		pthread_mutex_unlock(&fs->lock);
		fs_inval(fs, ino);
		if (event) {
			fs_write_through(fs, ino, byte);
			fs_inval(fs, ino);
		}
		pthread_mutex_lock(&fs->lock);
	}
	fs->notifier_busy = false;
	pthread_cond_broadcast(&fs->idle_cond);
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/* ---- the request thread: register writes ---- */

static void
fs_reg_answer(struct fs *fs, struct reg_job *j, int r)
{
	if (r < 0)
		fuse_reply_err(j->req, -r);
	else
		fuse_reply_write(j->req, j->size);
	free(j);
	(void)fs;
}

static void *
fs_reg_main(void *arg)
{
	struct fs *fs = arg;
	struct reg_job *j;
	int r;

	pthread_mutex_lock(&fs->lock);
	for (;;) {
		while (!fs->stopping && !fs->reg_head)
			pthread_cond_wait(&fs->reg_cond, &fs->lock);
		j = fs->reg_head;
		if (!j)
			break;
		fs->reg_head = j->next;
		if (!fs->reg_head)
			fs->reg_tail = &fs->reg_head;
		fs->reg_len--;
		if (fs->stopping) {
			fs_reg_answer(fs, j, -ESHUTDOWN);
			continue;
		}
		pthread_mutex_unlock(&fs->lock);
		r = fs->cfg.reg_request ?
		    fs->cfg.reg_request(fs->cfg.reg_arg, j->op) : -EOPNOTSUPP;
		if (r > 0)
			r = 0;
		fs_reg_answer(fs, j, r);
		/* The write may have left its bytes in a cached page. */
		fs_inval(fs, INO_REGISTER);
		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/* ---- lifecycle ---- */

static int
fs_init_files(struct fs *fs)
{
	static const char reg0[] = "state=unregistered\n";
	fuse_ino_t ino;

	for (ino = INO_REGISTER; ino < INO_END; ino++) {
		struct fs_file *f = &fs->files[ino];

		f->name = file_table[ino].name;
		f->perm = file_table[ino].perm;
		f->evented = file_table[ino].evented;
		if (ino == INO_REGISTER && fs->cfg.has_register_gid)
			f->perm = 0664;
		if (ino == INO_REGISTER && fs->cfg.register_any_user)
			f->perm = 0666;
		f->cur = ino == INO_REGISTER ?
		    blob_new_copy(reg0, sizeof(reg0) - 1) : blob_new_copy("", 0);
		if (!f->cur)
			return -ENOMEM;
		f->cur->mtime = fs_next_mtime(fs);
	}
	fs->files[INO_ROOT].name = ".";
	return 0;
}

static int
fs_mount(struct fs *fs)
{
	char opts[128];
	char *argv[4];
	struct fuse_args args;
	int argc = 0, r;

	r = snprintf(opts, sizeof(opts),
	    "default_permissions,fsname=dstackp2pfs,subtype=p2p%s",
	    fs->cfg.allow_other ? ",allow_other" : "");
	if (r < 0 || (size_t)r >= sizeof(opts))
		return -EINVAL;
	argv[argc++] = (char *)"dstackp2pfs";
	argv[argc++] = (char *)"-o";
	argv[argc++] = opts;
	if (fs->cfg.debug)
		argv[argc++] = (char *)"-d";
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se) {
		log_warnx("fs: cannot create the fuse session");
		return -EIO;
	}
	if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
		log_warnx("fs: cannot mount '%s'", fs->mountpoint);
		return -EIO;
	}
	fs->mounted = true;
	return 0;
}

int
fs_new(const struct fs_config *cfg, struct fs **ret_fs)
{
	struct fs *fs;
	int r;

	if (!cfg->mountpoint || !*cfg->mountpoint ||
	    (cfg->mode != FS_MODE_FAST && cfg->mode != FS_MODE_STRICT))
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->cfg = *cfg;
	fs->cfg.mountpoint = NULL;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->notify_cond, NULL);
	pthread_cond_init(&fs->idle_cond, NULL);
	pthread_cond_init(&fs->reg_cond, NULL);
	fs->reg_tail = &fs->reg_head;
	fs->mountpoint = strdup(cfg->mountpoint);
	r = fs->mountpoint ? fs_init_files(fs) : -ENOMEM;
	if (r == 0)
		r = fs_mount(fs);
	if (r < 0) {
		fs_free(fs);
		return r;
	}
	*ret_fs = fs;
	return 0;
}

int
fs_run(struct fs *fs)
{
	struct fuse_loop_config *lc;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->running = true;
	pthread_mutex_unlock(&fs->lock);
	r = pthread_create(&fs->notifier, NULL, fs_notifier_main, fs);
	if (r != 0)
		return -r;
	r = pthread_create(&fs->reg_worker, NULL, fs_reg_main, fs);
	if (r != 0) {
		fs_stop(fs);
		pthread_join(fs->notifier, NULL);
		return -r;
	}
	lc = fuse_loop_cfg_create();
	if (!lc) {
		r = -ENOMEM;
	} else {
		fuse_loop_cfg_set_clone_fd(lc, 0);
		fuse_loop_cfg_set_max_threads(lc, 16);
		r = fuse_session_loop_mt(fs->se, lc);
		fuse_loop_cfg_destroy(lc);
		if (r > 0)	/* a signal number: orderly exit */
			r = 0;
	}
	pthread_mutex_lock(&fs->lock);
	fs->stopping = true;
	pthread_cond_broadcast(&fs->notify_cond);
	pthread_cond_broadcast(&fs->reg_cond);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(fs->notifier, NULL);
	pthread_join(fs->reg_worker, NULL);
	return r;
}

/* Any request wakes a FUSE worker blocked reading /dev/fuse, so that it sees
 * the session has exited.  Detached, on its own copy of the path: if the
 * loop is already gone, the stat only returns once the mount goes away. */
static void *
fs_poke_main(void *arg)
{
	struct stat st;

	(void)stat(arg, &st);
	free(arg);
	return NULL;
}

void
fs_stop(struct fs *fs)
{
	pthread_attr_t attr;
	pthread_t t;
	char *path;
	size_t n;

	pthread_mutex_lock(&fs->lock);
	fs->stopping = true;
	pthread_cond_broadcast(&fs->notify_cond);
	pthread_cond_broadcast(&fs->reg_cond);
	pthread_cond_broadcast(&fs->idle_cond);
	pthread_mutex_unlock(&fs->lock);
	fuse_session_exit(fs->se);
	n = strlen(fs->mountpoint) + sizeof("/.dstackp2pfs-stop");
	path = malloc(n);
	if (!path || snprintf(path, n, "%s/.dstackp2pfs-stop",
	    fs->mountpoint) != (int)n - 1) {
		free(path);
		return log_warnx("fs: cannot wake the fuse loop");
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, fs_poke_main, path) != 0) {
		log_warnx("fs: cannot wake the fuse loop");
		free(path);
	}
	pthread_attr_destroy(&attr);
}

void
fs_free(struct fs *fs)
{
	fuse_ino_t ino;

	if (!fs)
		return;
	if (fs->se) {
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
	}
	for (ino = INO_REGISTER; ino < INO_END; ino++) {
		blob_unref(fs->files[ino].cur);
	}
	while (fs->reg_head) {
		struct reg_job *j = fs->reg_head;

		fs->reg_head = j->next;
		free(j);
	}
	pthread_cond_destroy(&fs->reg_cond);
	pthread_cond_destroy(&fs->idle_cond);
	pthread_cond_destroy(&fs->notify_cond);
	pthread_mutex_destroy(&fs->lock);
	free(fs->mountpoint);
	free(fs);
}

int
fs_publish(struct fs *fs, struct snapshot *snap)
{
	static const fuse_ino_t inos[3] = { INO_PEERS, INO_LEADER, INO_JSON };
	const struct buf *parts[3] = { &snap->peers_txt, &snap->leader_txt,
	    &snap->json_txt };
	const struct buf *keys[3] = { NULL, NULL, &snap->json_key };
	struct blob *b[3];
	int i;

	for (i = 0; i < 3; i++) {
		b[i] = blob_new_snap(snap, parts[i], keys[i]);
		if (!b[i]) {
			while (i-- > 0)
				blob_unref(b[i]);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&fs->lock);
	if (fs->has_gen && snap->generation < fs->gen) {
		/* a late republish of an older set (racing publishers) */
		pthread_mutex_unlock(&fs->lock);
		for (i = 0; i < 3; i++)
			blob_unref(b[i]);
		return 0;
	}
	fs->has_gen = true;
	fs->gen = snap->generation;
	for (i = 0; i < 3; i++)
		fs_swap_locked(fs, (int)inos[i], b[i]);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

int
fs_set_text(struct fs *fs, enum fs_text which, const void *data, size_t len)
{
	static const fuse_ino_t inos[] = {
		[FS_TEXT_SELF] = INO_SELF,
		[FS_TEXT_STATUS] = INO_STATUS,
		[FS_TEXT_REGISTER] = INO_REGISTER,
	};
	struct blob *b;

	if ((unsigned int)which >= sizeof(inos) / sizeof(inos[0]))
		return -EINVAL;
	if (len > SNAPSHOT_TEXT_MAX)
		return -E2BIG;
	b = blob_new_copy(data, len);
	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	fs_swap_locked(fs, (int)inos[which], b);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

int
fs_flush(struct fs *fs)
{
	pthread_mutex_lock(&fs->lock);
	while (fs->running && !fs->stopping &&
	    (fs->notifier_busy || fs_next_work(fs)))
		pthread_cond_wait(&fs->idle_cond, &fs->lock);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}
