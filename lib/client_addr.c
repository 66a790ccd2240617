/*
 * client_addr.c - which address a request comes from, for the limits per
 * client address (client_addr.h).  Only inet_pton parses addresses; hops
 * are copied into a bounded buffer first, so an X-Forwarded-For of any
 * length costs one pass from its right end and no allocation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_addr.h"

#define HOP_MAX 64   /* "[" IPv6 "]:" port, with room */

/* Parses one address of len bytes: IPv4 "a.b.c.d" with an optional ":port",
 * IPv6 bare or as "[v6]" with an optional ":port".  IPv4-mapped IPv6 comes
 * out as IPv4.  Returns 0 or -1. */
static int
parse_addr(const char *s, size_t len, int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char buf[HOP_MAX];
	char *p, *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p = buf;
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			return -1;
		if (end[1] != '\0' && (end[1] != ':' || end[2] == '\0' ||
		                       strspn(end + 2, "0123456789") != strlen(end + 2)))
			return -1;
		*end = '\0';
		p++;
		if (inet_pton(AF_INET6, p, addr) != 1)
			return -1;
		*family = AF_INET6;
	} else if (inet_pton(AF_INET6, p, addr) == 1) {
		*family = AF_INET6;
	} else {
		if ((end = strchr(p, ':')) != NULL) {
			if (end[1] == '\0' || strspn(end + 1, "0123456789") != strlen(end + 1))
				return -1;
			*end = '\0';
		}
		if (inet_pton(AF_INET, p, addr) != 1)
			return -1;
		*family = AF_INET;
		return 0;
	}
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
	return 0;
}

/* 1 when the address is inside the block. */
static int
cidr_contains(const struct cv_cidr *net, int family, const unsigned char addr[16])
{
	int bits = net->prefix, i;

	if (net->family != family)
		return 0;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (addr[i] != net->addr[i])
			return 0;
	return bits == 0 || ((addr[i] ^ net->addr[i]) & (0xff << (8 - bits)) & 0xff) == 0;
}

static int
trusted_addr(const struct cv_proxies *trusted, int family, const unsigned char addr[16])
{
	size_t i;

	for (i = 0; trusted != NULL && i < trusted->n; i++)
		if (cidr_contains(&trusted->net[i], family, addr))
			return 1;
	return 0;
}

/* The name of an address for the limits (see client_addr.h). */
static void
name_addr(int family, unsigned char addr[16], char out[CV_CLIENT_ADDR_MAX])
{
	char text[INET6_ADDRSTRLEN];

	if (family == AF_INET6)
		memset(addr + 8, 0, 8);
	if (inet_ntop(family, addr, text, sizeof(text)) == NULL)
		text[0] = '\0';
	snprintf(out, CV_CLIENT_ADDR_MAX, "%s%s", text, family == AF_INET6 ? "/64" : "");
}

int
cv_proxies_parse(const char *list, struct cv_proxies *out)
{
	static const char sep[] = ", \t";
	const char *p = list;
	char entry[HOP_MAX], *slash, *end;
	struct cv_cidr *net;
	size_t len;
	long bits;

	memset(out, 0, sizeof(*out));
	for (p += strspn(p, sep); *p != '\0'; p += strspn(p, sep)) {
		len = strcspn(p, sep);
		if (len >= sizeof(entry) || out->n == CV_PROXIES_MAX)
			return -1;
		memcpy(entry, p, len);
		entry[len] = '\0';
		p += len;
		net = &out->net[out->n];
		if ((slash = strchr(entry, '/')) != NULL)
			*slash = '\0';
		/* No brackets, ports or IPv4-mapped forms here. */
		if (strchr(entry, '[') != NULL ||
		    parse_addr(entry, strlen(entry), &net->family, net->addr) != 0 ||
		    (net->family == AF_INET && strchr(entry, ':') != NULL))
			return -1;
		net->prefix = net->family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			if (slash[1] < '0' || slash[1] > '9')
				return -1;
			bits = strtol(slash + 1, &end, 10);
			if (*end != '\0' || bits > net->prefix)
				return -1;
			net->prefix = (int)bits;
		}
		out->n++;
	}
	return 0;
}

void
cv_client_addr(const struct cv_proxies *trusted, const char *remote_addr,
               const char *forwarded_for, char out[CV_CLIENT_ADDR_MAX])
{
	unsigned char addr[16], hop[16];
	int family, hop_family, found = 0;
	const char *end, *start;
	size_t len;

	if (parse_addr(remote_addr, strlen(remote_addr), &family, addr) != 0) {
		snprintf(out, CV_CLIENT_ADDR_MAX, "%s", remote_addr);
		return;
	}
	if (forwarded_for != NULL && trusted_addr(trusted, family, addr)) {
		end = forwarded_for + strlen(forwarded_for);
		while (end > forwarded_for) {
			for (start = end; start > forwarded_for && start[-1] != ','; start--)
				;
			len = (size_t)(end - start);
			while (len > 0 && (*start == ' ' || *start == '\t')) {
				start++;
				len--;
			}
			while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
				len--;
			if (parse_addr(start, len, &hop_family, hop) != 0) {
				found = 0;   /* malformed: trust none of it */
				break;
			}
			found = 1;
			family = hop_family;
			memcpy(addr, hop, sizeof(hop));
			if (!trusted_addr(trusted, hop_family, hop))
				break;
			end = start;
			while (end > forwarded_for && end[-1] != ',')
				end--;
			if (end > forwarded_for)
				end--;   /* past the comma */
		}
		if (!found)
			parse_addr(remote_addr, strlen(remote_addr), &family, addr);
	}
	name_addr(family, addr, out);
}
