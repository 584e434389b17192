#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* log_lock guards the settings below and serialises output. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_to_stderr = 1;
static int log_verbose = 1;

void
log_init(int debug, int facility)
{
	extern char *program_invocation_short_name;

	pthread_mutex_lock(&log_lock);
	log_to_stderr = debug != 0;
	log_verbose = debug != 0;
	if (!log_to_stderr)
		openlog(program_invocation_short_name, LOG_PID | LOG_NDELAY,
		    facility);
	pthread_mutex_unlock(&log_lock);
}

void
log_setverbose(int verbose)
{
	pthread_mutex_lock(&log_lock);
	log_verbose = verbose;
	pthread_mutex_unlock(&log_lock);
}

static void log_emit(int pri, const char *prefix, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void
log_emit(int pri, const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char errbuf[128];
	size_t n;
	int r;

	r = vsnprintf(line, sizeof(line), fmt, ap);
	if (r < 0)
		return;
	n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	if (errnum) {
		const char *e = strerror_r(errnum, errbuf, sizeof(errbuf));

		r = snprintf(line + n, sizeof(line) - n, ": %s", e);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n ? (size_t)r :
			    sizeof(line) - n - 1;
	}
	pthread_mutex_lock(&log_lock);
	if (pri == LOG_DEBUG && !log_verbose)
		goto out_unlock;
	if (log_to_stderr)
		fprintf(stderr, "%s%s\n", prefix, line);
	else
		syslog(pri, "%s%s", prefix, line);
out_unlock:
	pthread_mutex_unlock(&log_lock);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, "", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, "", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, "", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
