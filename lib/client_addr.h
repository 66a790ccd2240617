/*
 * client_addr.h - the client address that per-address limits count under:
 * REMOTE_ADDR, or, when REMOTE_ADDR is one of the configured trusted
 * proxies, the right-most X-Forwarded-For hop that is not a trusted proxy.
 * IPv6 clients are named by their /64, the smallest block one subscriber
 * usually gets, so that walking through one's own 2^64 addresses does not
 * buy fresh allowances.
 */
#ifndef CV_CLIENT_ADDR_H
#define CV_CLIENT_ADDR_H

#include <stddef.h>

#define CV_PROXIES_MAX 32
#define CV_CLIENT_ADDR_MAX 64   /* an IPv6 text form and "/64", with room */

struct cv_cidr {
	int           family;      /* AF_INET or AF_INET6 */
	unsigned char addr[16];    /* network byte order; 4 bytes used for AF_INET */
	int           prefix;      /* bits */
};

struct cv_proxies {
	size_t         n;
	struct cv_cidr net[CV_PROXIES_MAX];
};

/*
 * Parses a list of addresses and CIDR blocks separated by commas and/or
 * blanks ("127.0.0.1, 10.0.0.0/8 ::1 fd00::/8") into out (replacing what
 * was there).  A bare address is a block of one.  Returns 0, or -1 on a
 * malformed entry or more than CV_PROXIES_MAX of them.
 */
int cv_proxies_parse(const char *list, struct cv_proxies *out);

/*
 * Writes the client address of a request to out (always NUL-terminated):
 * the address that sent it (remote_addr) unless that is in trusted, in
 * which case the right-most hop of forwarded_for (the X-Forwarded-For
 * header, may be NULL) that is not in trusted; when every hop is trusted,
 * the left-most.  A malformed header (an empty or unparsable hop) is
 * ignored as a whole: the answer is then remote_addr.  IPv4 in dotted form
 * (also for IPv4-mapped IPv6), IPv6 as "<prefix>::/64".  An unparsable
 * remote_addr is copied as it is (truncated to fit).  Cannot fail.
 */
void cv_client_addr(const struct cv_proxies *trusted, const char *remote_addr,
                    const char *forwarded_for, char out[CV_CLIENT_ADDR_MAX]);

#endif
