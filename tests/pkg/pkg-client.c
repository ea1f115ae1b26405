/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pkg-client: a libglock client that tests/pkg/pkg-test.sh compiles
 * against the INSTALLED libglock-dev (pkg-config libglock), to show that
 * the header, the link and the shared library are usable as packaged.
 *
 *   pkg-client LOCKSPACE TYPE NUMBER try|wait
 *
 * Takes (TYPE, NUMBER) in EX (try: GLOCK_TRY, fails at once if another
 * holder has it; wait: up to 10 s), unlocks, prints the node id.
 * Exit: 0 locked and unlocked, 3 not grantable now (-EAGAIN), 1 error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glock.h>

int main(int argc, char **argv)
{
	struct glock_ls *ls;
	struct glock_handle *h;
	uint32_t flags;
	int rc;

	if (argc != 5 || (strcmp(argv[4], "try") && strcmp(argv[4], "wait"))) {
		fprintf(stderr, "usage: pkg-client LOCKSPACE TYPE NUMBER try|wait\n");
		return 1;
	}
	flags = strcmp(argv[4], "try") ? 0 : GLOCK_TRY;
	rc = glock_open(argv[1], &ls);
	if (rc) {
		fprintf(stderr, "glock_open: %s\n", strerror(-rc));
		return 1;
	}
	rc = glock_lock(ls, (uint32_t)strtoul(argv[2], NULL, 0), strtoull(argv[3], NULL, 0),
			GLOCK_EX, flags, 10000, &h);
	if (rc) {
		fprintf(stderr, "glock_lock: %s\n", strerror(-rc));
		glock_close(ls);
		return rc == -EAGAIN ? 3 : 1;
	}
	printf("node %u: EX %s/%s/%s granted\n", glock_local_node(ls), argv[1], argv[2], argv[3]);
	rc = glock_unlock(h);
	glock_close(ls);
	if (rc) {
		fprintf(stderr, "glock_unlock: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
