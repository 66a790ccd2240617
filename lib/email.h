/*
 * email.h - conservative validation of email addresses (the rule below; tests/unit/test_email.c).
 */
#ifndef CV_EMAIL_H
#define CV_EMAIL_H

#include <stddef.h>

#define CV_EMAIL_MAX 254

/*
 * 1 when the len bytes at s form an address this service accepts: at most
 * 254 bytes, one '@', a dot-atom local part of at most 64 bytes (RFC 5322
 * atext, no leading, trailing or double dots), and a domain of at least two
 * labels of letters, digits and inner hyphens, each at most 63 bytes.
 * Quoted local parts and address literals are refused.  Cannot fail.
 */
int cv_email_valid(const char *s, size_t len);

#endif
