/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the other glockd instances listen: corosync's nodelist (cmap keys
 * nodelist.node.N.nodeid, .ring0_addr, .ring1_addr) and glockd.conf's
 * link_port; the node ids alone for startup fencing.  Never logs: errors
 * come back in err.
 */
#ifndef GLOCK_LINK_PEERS_H
#define GLOCK_LINK_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <corosync/cmap.h>

#include "links.h"

#define GLOCK_LINK_PEERS_MAX 64

/*
 * An address as the nodelist writes it (IPv4, IPv6 or a host name) with
 * port.  0, or -EINVAL with err set.
 */
int glock_link_addr_parse(const char *host, uint16_t port, struct sockaddr_storage *ret_addr,
			  socklen_t *ret_len, char *err, size_t err_len);

/*
 * Every node of the nodelist, in nodelist order, the local one included.
 * 0 and *ret_n, or -errno with err set (cmap unreachable, a node without
 * nodeid or ring0_addr, an address that does not resolve, more than max).
 */
int glock_link_peers_from_cmap(cmap_handle_t h, uint16_t port, struct glock_link_peer *out,
			       size_t max, size_t *ret_n, char *err, size_t err_len);

/*
 * The node ids of the nodelist, in nodelist order (startup fencing needs
 * only who is configured, not where it listens).  0 and *ret_n, or
 * -errno with err set.
 */
int glock_nodelist_ids_from_cmap(cmap_handle_t h, uint32_t *out, size_t max, size_t *ret_n,
				 char *err, size_t err_len);

#endif /* GLOCK_LINK_PEERS_H */
