/*
 * daemon: wiring of the view, the watcher and the registrar (daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "daemon.h"
#include "ethkey.h"
#include "fs.h"
#include "log.h"
#include "registrar.h"
#include "rpc.h"
#include "snapshot.h"
#include "watcher.h"
#include "wgapply.h"

struct daemon {
	struct fs *fs;
	struct watcher *w;
	struct registrar *reg;
	pthread_t sig_thread;
	sigset_t sigs;
	/* who stops the view: STOP_NONE, then the signal thread or main, once */
	atomic_int stop_state;
	const struct options *o;
	/* WireGuard mode: stored once by main, read by the watcher thread */
	_Atomic(struct wgapply_runner *) wgr;
	/* the watcher's last status, re-rendered when the WireGuard backend
	 * changes; status_lock guards these and serializes the rendering */
	pthread_mutex_t status_lock;
	bool has_status;
	struct snapshot_status status;	/* its strings point into the arrays */
	char status_url[SNAPSHOT_NOTE_MAX + 1];
	char status_err[SNAPSHOT_NOTE_MAX + 1];
};

enum { STOP_NONE = 0, STOP_BY_SIGNAL, STOP_BY_MAIN };

/* fs's reg_request: the registrar exists before fs_run() starts the caller. */
static int
daemon_reg_request(void *arg, enum fs_reg_op op)
{
	struct daemon *d = arg;

	if (!d->reg)
		return -EAGAIN;
	return registrar_fs_request(d->reg, op);
}

static void
sink_publish(void *arg, struct snapshot *snap)
{
	struct daemon *d = arg;

	struct wgapply_runner *wgr = atomic_load(&d->wgr);
	int r;

	r = fs_publish(d->fs, snap);
	if (r < 0)
		log_warnx("daemon: cannot publish the peer set: %s", strerror(-r));
	if (wgr)
		wgapply_runner_publish(wgr, snap);
}

/* Render `status` from the saved one plus the WireGuard part.  status_lock. */
static void
render_status_locked(struct daemon *d)
{
	struct wgapply_runner *wgr = atomic_load(&d->wgr);
	const struct snapshot_status *st = &d->status;
	char backend[16];
	struct buf out;
	int r;

	if (!d->has_status)
		return;
	buf_init(&out, SNAPSHOT_TEXT_MAX);
	r = snapshot_render_status(st, &out);
	if (r == 0 && wgr) {
		wgapply_runner_backend(wgr, backend);
		r = buf_printf(&out, "wg_backend=%s\nwg_interface=%s\n", backend, d->o->wg_ifname);
	}
	if (r == 0)
		r = fs_set_text(d->fs, FS_TEXT_STATUS, out.data, out.len);
	if (r < 0)
		log_warnx("daemon: cannot render 'status': %s", strerror(-r));
	buf_release(&out);
}

/* Copy a status string; one over SNAPSHOT_NOTE_MAX is refused by the renderer. */
static const char *
status_copy(char dst[SNAPSHOT_NOTE_MAX + 1], const char *src)
{
	size_t len;

	if (!src)
		return NULL;
	len = strnlen(src, SNAPSHOT_NOTE_MAX + 1);
	if (len > SNAPSHOT_NOTE_MAX)
		return src;	/* not kept; rendering fails with -EINVAL, logged */
	memcpy(dst, src, len + 1);
	return dst;
}

static void
sink_status(void *arg, const struct snapshot_status *st)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&d->status_lock);
	d->status = *st;
	d->status.rpc_url = status_copy(d->status_url, st->rpc_url);
	d->status.last_error = status_copy(d->status_err, st->last_error);
	d->has_status = true;
	render_status_locked(d);
	/* an over-long string was not copied: drop the pointer to it */
	if (d->status.rpc_url == st->rpc_url)
		d->status.rpc_url = NULL;
	if (d->status.last_error == st->last_error)
		d->status.last_error = NULL;
	pthread_mutex_unlock(&d->status_lock);
}

/* The WireGuard runner's figures: republish the set with them. */
static void
wg_view(void *arg, struct snapshot *snap)
{
	struct daemon *d = arg;
	int r;

	r = fs_publish(d->fs, snap);
	if (r < 0)
		log_warnx("daemon: cannot publish the WireGuard figures: %s", strerror(-r));
}

/* The device came up or went away: status shows the backend at once. */
static void
wg_backend_changed(void *arg)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&d->status_lock);
	render_status_locked(d);
	pthread_mutex_unlock(&d->status_lock);
}

static void
hook_changed(void *arg)
{
	struct daemon *d = arg;

	watcher_kick(d->w);
}

static void
hook_balance(void *arg, bool low)
{
	struct daemon *d = arg;

	watcher_set_low_balance(d->w, low);
}

static void *
signal_main(void *arg)
{
	struct daemon *d = arg;
	int sig = 0;

	int none = STOP_NONE;

	if (sigwait(&d->sigs, &sig) == 0 && sig != SIGUSR2 &&
	    atomic_compare_exchange_strong(&d->stop_state, &none, STOP_BY_SIGNAL)) {
		log_info("daemon: signal %d, unmounting", sig);
		fs_stop(d->fs);
	}
	return NULL;
}

/*
 * Detach from the terminal after the mount is up (as fuse_daemonize() does):
 * the parent exits 0, the child runs in a new session with stdio on
 * /dev/null.  No thread may exist yet.
 */
static int
detach(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static int
start_watcher(struct daemon *d, const struct options *o)
{
	const char *urls[OPTIONS_RPC_MAX];
	struct watcher_config wc;
	struct watcher_sink sink = { .publish = sink_publish, .status = sink_status, .arg = d };
	int r;

	r = watcher_config_from_options(o, urls, OPTIONS_RPC_MAX, &wc);
	if (r == 0)
		r = watcher_new(&wc, &d->w);
	if (r == 0)
		r = watcher_add_sink(d->w, &sink);
	/*
	 * One sync before the view serves: its publish is the silent baseline,
	 * so a restarted daemon raises no change event for the set it finds.
	 * A failure here is not fatal: the thread retries and status says stale.
	 */
	if (r == 0 && watcher_poll_once(d->w) < 0)
		log_warnx("daemon: first chain sync failed, serving an empty view until it works");
	if (r == 0)
		r = watcher_start(d->w);
	if (r < 0)
		log_warnx("daemon: cannot start the chain watcher: %s", strerror(-r));
	return r;
}

static int
start_registrar(struct daemon *d, const struct options *o)
{
	struct registrar_hooks h = { .changed = hook_changed, .balance = hook_balance, .arg = d };
	int r;

	r = registrar_new(o, d->fs, &h, &d->reg);
	if (r == 0)
		r = registrar_start(d->reg);
	if (r < 0)
		log_warnx("daemon: cannot start the registrar: %s", strerror(-r));
	return r;
}

/* The registrar hands the applier its key and token (-EAGAIN until then). */
static int
wg_self(void *arg, struct identity_wg *ret_key, uint64_t *ret_token)
{
	struct daemon *d = arg;

	return registrar_wg_self(d->reg, ret_key, ret_token);
}

/* WireGuard mode: the applier thread, fed the set published so far. */
static int
start_wireguard(struct daemon *d, const struct options *o)
{
	struct wgapply_runner_config wc = {
		.o = o, .self = wg_self, .arg = d,
		.view = wg_view, .backend_changed = wg_backend_changed,
	};
	struct wgapply_runner *wgr;
	struct snapshot *snap;
	int r;

	if (o->mode != P2P_MODE_WIREGUARD)
		return 0;
	r = wgapply_runner_start(&wc, &wgr);
	if (r < 0) {
		log_warnx("daemon: cannot start the WireGuard applier: %s", strerror(-r));
		return r;
	}
	atomic_store(&d->wgr, wgr);
	wg_backend_changed(d);	/* the device may be up already */
	snap = watcher_snapshot(d->w);
	if (snap) {
		wgapply_runner_publish(wgr, snap);
		snapshot_unref(snap);
	}
	return 0;
}

static void
daemon_release(struct daemon *d)
{
	/* the watcher (which publishes to it) is stopped; the registrar still exists */
	wgapply_runner_free(atomic_exchange(&d->wgr, NULL));
	registrar_free(d->reg);
	watcher_free(d->w);
	fs_free(d->fs);
	ethkey_global_free();
	pthread_mutex_destroy(&d->status_lock);
}

/*
 * Stop the signal thread and release everything.  A signal thread that won
 * the stop may still sit in the request fs_stop() sent through the mount to
 * wake the loop; only the unmount in fs_free() fails that request, and
 * fs_stop() touches nothing of fs once the request is on its way (the loop
 * could not have ended otherwise).  After an outside unmount that raced a
 * signal, the request goes to the bare directory and returns at once: give
 * it a second before freeing.
 */
static void
join_signal_thread(struct daemon *d)
{
	int none = STOP_NONE;
	struct timespec ts;

	if (atomic_compare_exchange_strong(&d->stop_state, &none, STOP_BY_MAIN)) {
		pthread_kill(d->sig_thread, SIGUSR2);
		pthread_join(d->sig_thread, NULL);
		daemon_release(d);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	if (pthread_timedjoin_np(d->sig_thread, NULL, &ts) == 0) {
		daemon_release(d);
		return;
	}
	daemon_release(d);
	pthread_join(d->sig_thread, NULL);
}

int
daemon_run(const struct daemon_config *c)
{
	struct daemon d;
	struct fs_config fc = {
		.mountpoint = c->mountpoint,
		.mode = c->opts.fast_read ? FS_MODE_FAST : FS_MODE_STRICT,
		.allow_other = c->allow_other,
		.debug = c->debug,
		.reg_request = daemon_reg_request,
		.has_register_gid = c->opts.has_register_gid,
		.register_gid = c->opts.register_gid,
	};
	int r;

	memset(&d, 0, sizeof(d));
	d.o = &c->opts;
	pthread_mutex_init(&d.status_lock, NULL);
	fc.reg_arg = &d;
	log_init(c->foreground && !c->use_syslog, LOG_DAEMON);
	log_setverbose(c->debug);
	signal(SIGPIPE, SIG_IGN);
	r = rpc_global_init();
	if (r == 0)
		r = ethkey_global_init();
	if (r < 0) {
		log_warnx("daemon: library setup failed: %s", strerror(-r));
		return r;
	}
	r = fs_new(&fc, &d.fs);
	if (r < 0) {
		log_warnx("daemon: cannot mount '%s': %s", c->mountpoint, strerror(-r));
		goto out_release;
	}
	if (!c->foreground && (r = detach()) < 0) {
		log_warnx("daemon: cannot detach: %s", strerror(-r));
		goto out_release;
	}
	/* every thread inherits the mask; only the signal thread takes them */
	sigemptyset(&d.sigs);
	sigaddset(&d.sigs, SIGINT);
	sigaddset(&d.sigs, SIGTERM);
	sigaddset(&d.sigs, SIGHUP);
	sigaddset(&d.sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &d.sigs, NULL);
	r = -pthread_create(&d.sig_thread, NULL, signal_main, &d);
	if (r < 0)
		goto out_release;
	r = start_watcher(&d, &c->opts);
	if (r == 0)
		r = start_registrar(&d, &c->opts);
	if (r == 0)
		r = start_wireguard(&d, &c->opts);
	if (r == 0) {
		log_info("daemon: serving '%s'", c->mountpoint);
		r = fs_run(d.fs);
		if (r < 0)
			log_warnx("daemon: the fuse loop failed: %s", strerror(-r));
	}
	registrar_stop(d.reg);
	watcher_stop(d.w);
	join_signal_thread(&d);
	log_info("daemon: stopped");
	return r;
out_release:
	daemon_release(&d);
	return r;
}
