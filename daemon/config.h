/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/glockd.conf: "key = value" lines, '#' comments.  Documented in
 * deploy/glockd.conf; `glockd -t -c FILE` checks a file and exits.
 */
#ifndef GLOCKD_CONFIG_H
#define GLOCKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef GLOCKD_CONFIG_DEFAULT /* the build passes $(sysconfdir)/glockd.conf */
#define GLOCKD_CONFIG_DEFAULT "/etc/glockd.conf"
#endif
#define GLOCKD_ALLOW_MAX 32
#define GLOCKD_PATH_MAX 256
#define GLOCKD_LINK_PORT_DEFAULT 21065
#define GLOCKD_LINK_KEY_DEFAULT "/etc/corosync/authkey"

enum glockd_fence_kind {
	GLOCKD_FENCE_NONE = 0,    /* unsafe: confirms at once, logs loudly */
	GLOCKD_FENCE_COMMAND = 1, /* run fence_command NODEID; exit 0 confirms */
};

enum glockd_lock_path {
	GLOCKD_LOCK_PATH_CPG = 0, /* every op in CPG agreed order (DESIGN §2-§5) */
	GLOCKD_LOCK_PATH_P2P = 1, /* per-glock masters over node links (DESIGN §9) */
};

enum glockd_log_target {
	GLOCKD_LOG_STDERR = 0,
	GLOCKD_LOG_SYSLOG = 1,
};

struct glockd_config {
	uint32_t node_id;                 /* 0: ask corosync */
	char cpg_group[64];               /* default "glockd" */
	char ipc_name[64];                /* libqb IPC service, default "glockd" */
	char dev_path[GLOCKD_PATH_MAX];   /* default "/dev/glock"; "" disables */
	enum glockd_fence_kind fence;
	char fence_command[GLOCKD_PATH_MAX];
	enum glockd_log_target log_target;
	int log_priority;                 /* syslog LOG_* level, default LOG_INFO */
	size_t send_queue_max;            /* ops queued for CPG before EAGAIN */
	uint64_t hold_min_us, hold_max_us, hold_incr_us, hold_decr_us;
	/* IPC access: root always; these uids/gids too (empty: root only). */
	uid_t allowed_uids[GLOCKD_ALLOW_MAX];
	size_t n_allowed_uids;
	gid_t allowed_gids[GLOCKD_ALLOW_MAX];
	size_t n_allowed_gids;
	/* Node links (daemon/links.c): TCP port, cluster key file, queue bound. */
	uint16_t link_port;                   /* default 21065 */
	char link_key_file[GLOCKD_PATH_MAX];  /* default /etc/corosync/authkey */
	size_t link_queue_max;                /* messages per peer, default 4096 */
	enum glockd_lock_path lock_path;      /* default cpg */
	/*
	 * Startup fencing (DESIGN §3): configured nodes absent when the
	 * table starts empty are fenced, after this delay, unless they join.
	 */
	bool startup_fencing;                 /* default true */
	uint64_t startup_fence_delay_us;      /* default 10 s */
};

/* lock_path = p2p: per-glock masters over node links (lockpath.c). */
static inline bool glockd_config_p2p(const struct glockd_config *cfg)
{
	return cfg->lock_path == GLOCKD_LOCK_PATH_P2P;
}

void glockd_config_defaults(struct glockd_config *cfg);
/*
 * Parses path into cfg (on top of the defaults).  Returns 0, or -errno with
 * a message naming the file and line in err (never logs: main does).
 */
int glockd_config_load(struct glockd_config *cfg, const char *path, char *err, size_t err_len);

#endif /* GLOCKD_CONFIG_H */
