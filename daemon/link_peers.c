/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Peer addresses from corosync's nodelist through cmap (link_peers.h).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_peers.h"

#define NODELIST_PREFIX "nodelist.node."

int glock_link_addr_parse(const char *host, uint16_t port, struct sockaddr_storage *ret_addr,
			  socklen_t *ret_len, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *res;
	char serv[8];
	int r;

	snprintf(serv, sizeof(serv), "%u", (unsigned int)port);
	r = getaddrinfo(host, serv, &hints, &res);
	if (r) {
		snprintf(err, err_len, "address '%s': %s", host, gai_strerror(r));
		return -EINVAL;
	}
	if (res->ai_addrlen > sizeof(*ret_addr)) {
		freeaddrinfo(res);
		snprintf(err, err_len, "address '%s': too long", host);
		return -EINVAL;
	}
	memset(ret_addr, 0, sizeof(*ret_addr));
	memcpy(ret_addr, res->ai_addr, res->ai_addrlen);
	*ret_len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Nodelist indexes as cmap lists them: "nodelist.node.<index>.<key>". */
static int collect_indexes(cmap_handle_t h, unsigned int *idx, size_t max, size_t *ret_n,
			   char *err, size_t err_len)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t it;
	cmap_value_types_t type;
	size_t n = 0, i, len;
	unsigned int x;
	cs_error_t e;

	e = cmap_iter_init(h, NODELIST_PREFIX, &it);
	if (e != CS_OK) {
		snprintf(err, err_len, "cmap: cannot read the nodelist (error %d)", e);
		return -ENOTCONN;
	}
	while ((e = cmap_iter_next(h, it, key, &len, &type)) == CS_OK) {
		if (sscanf(key, NODELIST_PREFIX "%u.", &x) != 1)
			continue;
		for (i = 0; i < n && idx[i] != x; i++)
			;
		if (i < n)
			continue;
		if (n == max) {
			cmap_iter_finalize(h, it);
			snprintf(err, err_len, "nodelist: more than %zu nodes", max);
			return -E2BIG;
		}
		idx[n++] = x;
	}
	cmap_iter_finalize(h, it);
	*ret_n = n;
	return 0;
}

static int node_addr(cmap_handle_t h, unsigned int index, const char *ring, uint16_t port,
		     struct glock_link_peer *p, char *err, size_t err_len)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	char *host = NULL;
	int r;

	snprintf(key, sizeof(key), NODELIST_PREFIX "%u.%s", index, ring);
	if (cmap_get_string(h, key, &host) != CS_OK)
		return -ENOENT;
	r = glock_link_addr_parse(host, port, &p->addrs[p->n_addrs], &p->addr_lens[p->n_addrs], err,
				  err_len);
	free(host);
	if (!r)
		p->n_addrs++;
	return r;
}

static int node_id(cmap_handle_t h, unsigned int index, uint32_t *ret_id, char *err,
		   size_t err_len)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	uint32_t id;

	snprintf(key, sizeof(key), NODELIST_PREFIX "%u.nodeid", index);
	if (cmap_get_uint32(h, key, &id) != CS_OK || !id) {
		snprintf(err, err_len, "nodelist node %u: no nodeid", index);
		return -EINVAL;
	}
	*ret_id = id;
	return 0;
}

int glock_nodelist_ids_from_cmap(cmap_handle_t h, uint32_t *out, size_t max, size_t *ret_n,
				 char *err, size_t err_len)
{
	unsigned int idx[GLOCK_LINK_PEERS_MAX];
	size_t n, i;
	int r;

	if (max > GLOCK_LINK_PEERS_MAX)
		max = GLOCK_LINK_PEERS_MAX;
	r = collect_indexes(h, idx, max, &n, err, err_len);
	for (i = 0; !r && i < n; i++)
		r = node_id(h, idx[i], &out[i], err, err_len);
	if (!r)
		*ret_n = n;
	return r;
}

int glock_link_peers_from_cmap(cmap_handle_t h, uint16_t port, struct glock_link_peer *out,
			       size_t max, size_t *ret_n, char *err, size_t err_len)
{
	unsigned int idx[GLOCK_LINK_PEERS_MAX];
	size_t n, i, j;
	uint32_t id;
	int r;

	if (max > GLOCK_LINK_PEERS_MAX)
		max = GLOCK_LINK_PEERS_MAX;
	r = collect_indexes(h, idx, max, &n, err, err_len);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		struct glock_link_peer *p = &out[i];

		memset(p, 0, sizeof(*p));
		r = node_id(h, idx[i], &id, err, err_len);
		if (r)
			return r;
		for (j = 0; j < i; j++) {
			if (out[j].nodeid == id) {
				snprintf(err, err_len, "nodelist: nodeid %u given twice", id);
				return -EINVAL;
			}
		}
		p->nodeid = id;
		r = node_addr(h, idx[i], "ring0_addr", port, p, err, err_len);
		if (r == -ENOENT)
			snprintf(err, err_len, "nodelist node %u (nodeid %u): no ring0_addr", idx[i], id);
		if (r)
			return -EINVAL;
		r = node_addr(h, idx[i], "ring1_addr", port, p, err, err_len);
		if (r && r != -ENOENT)
			return r;
	}
	*ret_n = n;
	return 0;
}
