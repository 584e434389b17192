/*
 * log: the daemon's logger, after the OpenBSD daemons' log.c.
 *
 * Foreground or debug: lines go to stderr.  Otherwise: syslog with the given
 * facility.  Every function is thread-safe: one line is formatted into a
 * fixed buffer and written with a single call.  Only modules that handle an
 * error log it; codec and data modules never call these.
 */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdarg.h>

/* Longest log line; longer lines are cut (a log line is not data). */
#define LOG_LINE_MAX	1024

/*
 * Start logging.  debug != 0: to stderr, and log_debug() lines are shown.
 * debug == 0: to syslog(facility) with the program name as ident, and
 * log_debug() is silent unless log_setverbose(1).  May be called again.
 */
void log_init(int debug, int facility);

/* Show (1) or hide (0) log_debug() lines. */
void log_setverbose(int verbose);

/* A warning followed by ": " and strerror(errno) (errno is preserved). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An informational line. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A debug line, shown only in debug or verbose mode. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log like log_warn() ("fatal: ..." ) and exit(1). */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Log like log_warnx() and exit(1). */
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
