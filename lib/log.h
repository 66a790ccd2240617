/*
 * log.h - one line per request and plain diagnostics, both to stderr.
 * Callers never pass codes, tokens, keys or secrets.
 */
#ifndef CV_LOG_H
#define CV_LOG_H

/* Sets the program name printed on every line.  name must outlive the process. */
void cv_log_init(const char *name);

/* "ts prog request_id endpoint status duration_ms" for one finished request. */
void cv_log_request(const char *request_id, const char *endpoint, int status, double ms);

/* A diagnostic line: "ts prog level: message". */
void cv_log_error(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
void cv_log_info(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));

/* Milliseconds on the monotonic clock, for durations.  Cannot fail. */
double cv_now_ms(void);

#endif
