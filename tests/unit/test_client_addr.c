/*
 * test_client_addr.c - which client address the limits count under
 * (trusted proxies, X-Forwarded-For, IPv6 /64).
 */
#include "config.h"

#include <string.h>

#include "client_addr.h"
#include "unit.h"

static struct cv_proxies proxies;

/* The client address of a request, as a static string. */
static const char *
client(const char *remote, const char *xff)
{
	static char out[CV_CLIENT_ADDR_MAX];

	cv_client_addr(&proxies, remote, xff, out);
	return out;
}

#define IS(name, got, want) CHECK(name, strcmp((got), (want)) == 0)

int
main(void)
{
	struct cv_proxies none;
	char longer[10000];
	size_t i;

	CHECK("parse_empty_list", cv_proxies_parse("", &none) == 0 && none.n == 0);
	CHECK("parse_list", cv_proxies_parse("127.0.0.1, 10.0.0.0/8 ::1\tfd00::/8", &proxies) == 0 &&
	                        proxies.n == 4);
	CHECK("parse_rejects_bad_prefix", cv_proxies_parse("10.0.0.0/33", &none) != 0);
	CHECK("parse_rejects_v6_prefix", cv_proxies_parse("::/129", &none) != 0);
	CHECK("parse_rejects_empty_prefix", cv_proxies_parse("10.0.0.0/", &none) != 0);
	CHECK("parse_rejects_negative_prefix", cv_proxies_parse("10.0.0.0/-1", &none) != 0);
	CHECK("parse_rejects_name", cv_proxies_parse("localhost", &none) != 0);
	CHECK("parse_rejects_port", cv_proxies_parse("10.0.0.1:80", &none) != 0);
	CHECK("parse_rejects_brackets", cv_proxies_parse("[::1]", &none) != 0);
	CHECK("parse_rejects_too_many",
	      cv_proxies_parse("1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 "
	                       "1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 "
	                       "1.1.1.16 1.1.1.17 1.1.1.18 1.1.1.19 1.1.1.20 1.1.1.21 1.1.1.22 "
	                       "1.1.1.23 1.1.1.24 1.1.1.25 1.1.1.26 1.1.1.27 1.1.1.28 1.1.1.29 "
	                       "1.1.1.30 1.1.1.31 1.1.1.32 1.1.1.33", &none) != 0);

	IS("untrusted_remote_ignores_xff", client("198.51.100.7", "203.0.113.9"), "198.51.100.7");
	IS("no_xff_is_remote", client("127.0.0.1", NULL), "127.0.0.1");
	IS("trusted_remote_takes_xff", client("127.0.0.1", "203.0.113.9"), "203.0.113.9");
	IS("rightmost_untrusted_hop", client("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.1.2.3"),
	   "203.0.113.9");
	IS("spoofed_left_hops_ignored", client("10.0.0.1", "6.6.6.6,203.0.113.9"), "203.0.113.9");
	IS("all_trusted_is_leftmost", client("127.0.0.1", "10.0.0.5, 10.0.0.6"), "10.0.0.5");
	IS("malformed_hop_falls_back", client("127.0.0.1", "203.0.113.9, nonsense"), "127.0.0.1");
	IS("malformed_left_hop_falls_back", client("127.0.0.1", "bad, 10.0.0.9"), "127.0.0.1");
	/* Left of the client: never read, whatever it holds. */
	IS("malformed_hop_left_of_client_unread", client("127.0.0.1", "not-an-address, 198.18.5.6"),
	   "198.18.5.6");
	IS("empty_hop_left_of_client_unread", client("127.0.0.1", ", 198.18.5.6"), "198.18.5.6");
	IS("empty_hop_falls_back", client("127.0.0.1", "203.0.113.9,,10.0.0.1"), "127.0.0.1");
	IS("trailing_comma_falls_back", client("127.0.0.1", "203.0.113.9,"), "127.0.0.1");
	IS("empty_xff_is_remote", client("127.0.0.1", ""), "127.0.0.1");
	IS("blank_xff_falls_back", client("127.0.0.1", "  "), "127.0.0.1");
	IS("hop_with_port", client("127.0.0.1", "203.0.113.9:4711"), "203.0.113.9");
	IS("hop_bad_port", client("127.0.0.1", "203.0.113.9:x"), "127.0.0.1");
	IS("hop_with_nul_free_garbage", client("127.0.0.1", "203.0.113.9\x01"), "127.0.0.1");
	IS("v6_is_per_64", client("2001:db8:1:2:3:4:5:6", NULL), "2001:db8:1:2::/64");
	IS("v6_same_64_same_name", client("2001:db8:1:2:ffff::1", NULL), "2001:db8:1:2::/64");
	IS("v6_hop_bracketed", client("::1", "[2001:db8::7]:443"), "2001:db8::/64");
	IS("v6_hop_bare", client("::1", "2001:db8:aa:bb::7"), "2001:db8:aa:bb::/64");
	IS("v6_trusted_block", client("fd00::1", "fd00::2, 2001:db8::1"), "2001:db8::/64");
	IS("mapped_v4_is_v4", client("::ffff:127.0.0.1", "203.0.113.9"), "203.0.113.9");
	IS("mapped_remote_named_v4", client("::ffff:198.51.100.7", NULL), "198.51.100.7");
	IS("unparsable_remote_copied", client("unix:", "203.0.113.9"), "unix:");
	IS("empty_remote", client("", "203.0.113.9"), "");
	for (i = 0; i + 9 < sizeof(longer); i += 9)
		memcpy(longer + i, "10.0.0.1,", 9);
	memcpy(longer + i - 9, "8.8.8.8\0", 8);
	IS("long_chain_of_proxies", client("127.0.0.1", longer), "8.8.8.8");
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	IS("huge_hop_falls_back", client("127.0.0.1", longer), "127.0.0.1");
	return unit_done();
}
