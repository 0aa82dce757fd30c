/* ward net: helpers shared by url.c, http.c and fetch.c (not public). */
#ifndef WARD_NET_PRIV_H
#define WARD_NET_PRIV_H

#include "ward/net.h"

/* true iff p[0..n) is a path made of RFC 3986 pchars, pct-encodings and
 * '/', with no "." or ".." segment; a leading '/' only if allowed. */
bool ward_net_path_ok(const char *p, size_t n, bool allow_leading_slash);

/* true iff h[0..n) is a DNS name / IPv4 literal (LDH labels), or, with
 * v6, the inside of an IPv6 literal's brackets. */
bool ward_net_host_ok(const char *h, size_t n, bool v6);

#endif /* WARD_NET_PRIV_H */
