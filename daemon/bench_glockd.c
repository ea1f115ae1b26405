/* SPDX-License-Identifier: GPL-2.0-or-later */
/* glockctl bench's glockd backend: libglock as it is. */
#include <string.h>

#include "bench_backend.h"
#include "glock.h"

_Static_assert(BENCH_LVB_SIZE == GLOCK_LVB_SIZE, "LVB sizes");

static int glockd_open(const char *lockspace, unsigned int members, struct bench_ls **ret,
		       const char **ret_why)
{
	struct glock_ls *ls;
	int err = glock_open(lockspace, &ls);

	if (err) {
		*ret_why = "cannot reach glockd";
		return err;
	}
	*ret = (struct bench_ls *)ls;
	return 0;
}

static void glockd_close(struct bench_ls *ls)
{
	glock_close((struct glock_ls *)ls);
}

static int glockd_lock(struct bench_ls *ls, uint32_t type, uint64_t number, int mode,
		       unsigned int tmo_ms, struct bench_lock **ret)
{
	struct glock_handle *h;
	int err = glock_lock((struct glock_ls *)ls, type, number, mode, 0, tmo_ms, &h);

	if (!err)
		*ret = (struct bench_lock *)h;
	return err;
}

static int glockd_unlock(struct bench_lock *h)
{
	return glock_unlock((struct glock_handle *)h);
}

static void glockd_lvb_read(struct bench_lock *h, uint8_t buf[BENCH_LVB_SIZE])
{
	if (glock_lvb_read((const struct glock_handle *)h, buf))
		memset(buf, 0, BENCH_LVB_SIZE);
}

static int glockd_lvb_write(struct bench_lock *h, const uint8_t buf[BENCH_LVB_SIZE])
{
	return glock_lvb_write((struct glock_handle *)h, buf);
}

const struct bench_backend glock__bench_glockd = {
	.name = "glockd",
	.open = glockd_open,
	.close = glockd_close,
	.lock = glockd_lock,
	.unlock = glockd_unlock,
	.lvb_read = glockd_lvb_read,
	.lvb_write = glockd_lvb_write,
};
