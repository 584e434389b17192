/* dstackp2p: client API over the /p2p mount (see dstackp2p.h). */
#include "dstackp2p.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "buf.h"

/* One inotify read: room for several events with the longest name. */
#define EVENT_BUF	(16 * (sizeof(struct inotify_event) + NAME_MAX + 1))

static int
mount_path(const char *mount, const char *name, char *ret, size_t size)
{
	int n;

	n = snprintf(ret, size, "%s/%s", mount ? mount : DSTACKP2P_MOUNT_DEFAULT,
	    name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int
write_word(const char *mount, const char *word)
{
	char path[PATH_MAX];
	size_t len = strlen(word);
	ssize_t n;
	int fd, r;

	r = mount_path(mount, "register", path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, word, len);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	if (close(fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	return r;
}

int
dstackp2p_register(const char *mount)
{
	return write_word(mount, "register\n");
}

int
dstackp2p_leave(const char *mount)
{
	return write_word(mount, "leave\n");
}

int
dstackp2p_parse_peers(const char *data, size_t len,
    struct dstackp2p_peers *ret_peers)
{
	struct dstackp2p_peers p = { 0 };
	size_t i, start, lines = 0;

	if (len > DSTACKP2P_PEERS_FILE_MAX)
		return -E2BIG;
	if (memchr(data, '\0', len))
		return -EBADMSG;
	for (i = 0; i < len; i++)
		if (data[i] == '\n' || i + 1 == len)
			lines++;
	if (lines > DSTACKP2P_PEERS_MAX)
		return -E2BIG;
	p.data = malloc(len + 1);
	p.v = calloc(lines ? lines : 1, sizeof(*p.v));
	if (!p.data || !p.v) {
		dstackp2p_peers_release(&p);
		return -ENOMEM;
	}
	memcpy(p.data, data, len);
	p.data[len] = '\0';
	p.len = len;
	for (i = start = 0; i < len; i++) {
		if (p.data[i] != '\n' && i + 1 != len)
			continue;
		if (p.data[i] == '\n')
			p.data[i] = '\0';
		if (p.data[start] == '\0') {
			dstackp2p_peers_release(&p);
			return -EBADMSG;
		}
		p.v[p.n++] = p.data + start;
		start = i + 1;
	}
	*ret_peers = p;
	return 0;
}

int
dstackp2p_read_peers(const char *mount, struct dstackp2p_peers *ret_peers)
{
	char path[PATH_MAX];
	struct buf b;
	int r;

	r = mount_path(mount, "peers", path, sizeof(path));
	if (r < 0)
		return r;
	buf_init(&b, DSTACKP2P_PEERS_FILE_MAX);
	r = buf_read_file(&b, path);
	if (r == 0)
		r = dstackp2p_parse_peers((const char *)b.data, b.len, ret_peers);
	buf_release(&b);
	return r;
}

void
dstackp2p_peers_release(struct dstackp2p_peers *p)
{
	if (!p)
		return;
	free(p->v);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

bool
dstackp2p_peers_equal(const struct dstackp2p_peers *a,
    const struct dstackp2p_peers *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

int
dstackp2p_self_get(const char *mount, const char *key, char *ret_val,
    size_t size)
{
	char path[PATH_MAX];
	const char *line, *end, *stop;
	size_t klen = strlen(key), vlen;
	struct buf b;
	int r;

	r = mount_path(mount, "self", path, sizeof(path));
	if (r < 0)
		return r;
	buf_init(&b, DSTACKP2P_SELF_FILE_MAX);
	r = buf_read_file(&b, path);
	if (r < 0)
		goto out_release;
	r = -ENOENT;
	line = (const char *)b.data;
	stop = line + b.len;
	while (line && line < stop) {
		end = memchr(line, '\n', (size_t)(stop - line));
		if (!end)
			end = stop;
		if ((size_t)(end - line) > klen && line[klen] == '=' &&
		    memcmp(line, key, klen) == 0) {
			vlen = (size_t)(end - line) - klen - 1;
			if (vlen >= size) {
				r = -ENOBUFS;
				break;
			}
			memcpy(ret_val, line + klen + 1, vlen);
			ret_val[vlen] = '\0';
			r = 0;
			break;
		}
		line = end + 1;
	}
out_release:
	buf_release(&b);
	return r;
}

int
dstackp2p_watch_open(const char *mount, int *ret_fd)
{
	int fd;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, mount ? mount : DSTACKP2P_MOUNT_DEFAULT,
	    IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Walk one read's events with a bounded cursor. */
static int
scan_events(const uint8_t *p, size_t len, bool *changed)
{
	struct inotify_event ev;
	size_t pos = 0;

	while (pos < len) {
		if (sizeof(ev) > len - pos)
			return -EBADMSG;
		memcpy(&ev, p + pos, sizeof(ev));
		pos += sizeof(ev);
		if (ev.len > len - pos)
			return -EBADMSG;
		if (ev.mask & (IN_IGNORED | IN_UNMOUNT))
			return -ENODEV;
		if ((ev.mask & IN_CLOSE_WRITE) && ev.len &&
		    strncmp((const char *)p + pos, "peers", ev.len) == 0 &&
		    (ev.len == 5 || p[pos + 5] == '\0'))
			*changed = true;
		pos += ev.len;
	}
	return 0;
}

int
dstackp2p_watch_drain(int fd, bool *ret_changed)
{
	uint8_t evbuf[EVENT_BUF] __attribute__((aligned(8)));
	bool changed = false;
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, evbuf, sizeof(evbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		r = scan_events(evbuf, (size_t)n, &changed);
		if (r < 0)
			return r;
	}
	*ret_changed = changed;
	return 0;
}

/* Deliver the current list if it differs from *last (which it replaces). */
static int
deliver(const char *mount, struct dstackp2p_peers *last, bool first,
    dstackp2p_peers_cb cb, void *arg)
{
	struct dstackp2p_peers now;
	int r;

	r = dstackp2p_read_peers(mount, &now);
	if (r < 0)
		return r;
	if (!first && dstackp2p_peers_equal(&now, last)) {
		dstackp2p_peers_release(&now);
		return 0;
	}
	dstackp2p_peers_release(last);
	*last = now;
	r = cb(last, arg);
	return r < 0 ? r : r > 0 ? 1 : 0;
}

int
dstackp2p_watch(const char *mount, dstackp2p_peers_cb cb, void *arg)
{
	struct dstackp2p_peers last = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	bool changed;
	int r;

	r = dstackp2p_watch_open(mount, &pfd.fd);
	if (r < 0)
		return r;
	r = deliver(mount, &last, true, cb, arg);
	while (r == 0) {
		if (poll(&pfd, 1, -1) < 0) {
			r = errno == EINTR ? 0 : -errno;
			continue;
		}
		r = dstackp2p_watch_drain(pfd.fd, &changed);
		if (r == 0 && changed)
			r = deliver(mount, &last, false, cb, arg);
	}
	dstackp2p_peers_release(&last);
	close(pfd.fd);
	return r > 0 ? 0 : r;
}
