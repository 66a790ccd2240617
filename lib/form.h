/*
 * form.h - application/x-www-form-urlencoded bodies (the public SDK of the
 * Contact Verification API posts forms).
 */
#ifndef CV_FORM_H
#define CV_FORM_H

#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

/*
 * Parses len bytes of body into a new JSON object whose members are the
 * decoded fields, all strings, so that form and JSON bodies are read alike.
 * '+' is a space; %XX is decoded.  A malformed escape, a decoded NUL byte or
 * invalid UTF-8 gives CV_ERR_INVALID_INPUT; when a name repeats, the last
 * value wins (as with duplicate JSON keys in json-c).  On CV_OK *out is owned
 * by the caller (json_object_put).
 */
enum cv_err cv_form_parse(const char *body, size_t len, struct json_object **out);

/* Decodes the urlencoded s[0..len) in place ('+' is a space, %XX a byte) and
 * NUL-terminates it.  Returns the decoded length, or -1 for a malformed
 * escape, a NUL byte or invalid UTF-8. */
long cv_form_decode(char *s, size_t len);

#endif
