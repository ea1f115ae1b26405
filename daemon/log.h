/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockd logging: thin helpers over qb_log, scoped to what a line is about.
 *
 *   log_err/log_warn/log_notice/log_info/log_debug(fmt, ...)
 *   log_perr(prio, fmt, ...)             appends ": strerror(errno)"
 *   log_glock(prio, name, fmt, ...)      "lockspace/type/number: ..."
 *   log_node(prio, nodeid, fmt, ...)     "node N: ..."
 *   log_rl(rl, prio, fmt, ...)           rate-limited, for retry loops
 *
 * Everything also lands in the libqb blackbox ring (main.c enables it at
 * debug level whatever the configured level), so `glockctl dump --log` has
 * the recent history even when the log itself is quiet.
 */
#ifndef GLOCKD_LOG_H
#define GLOCKD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include <qb/qblog.h>
#include <qb/qbutil.h>

#include "engine.h"

#define log_err(fmt, ...) qb_log(LOG_ERR, fmt, ##__VA_ARGS__)
#define log_warn(fmt, ...) qb_log(LOG_WARNING, fmt, ##__VA_ARGS__)
#define log_notice(fmt, ...) qb_log(LOG_NOTICE, fmt, ##__VA_ARGS__)
#define log_info(fmt, ...) qb_log(LOG_INFO, fmt, ##__VA_ARGS__)
#define log_debug(fmt, ...) qb_log(LOG_DEBUG, fmt, ##__VA_ARGS__)
#define log_perr(prio, fmt, ...) qb_perror(prio, fmt, ##__VA_ARGS__)

/* One glock, named as GFS2 prints it: lockspace/type/number. */
#define log_glock(prio, name, fmt, ...)                                          \
	qb_log(prio, "%s/%u/%llu: " fmt, (name)->lockspace, (unsigned int)(name)->type, \
	       (unsigned long long)(name)->number, ##__VA_ARGS__)

/* One cluster node, by corosync node id. */
#define log_node(prio, nodeid, fmt, ...) \
	qb_log(prio, "node %u: " fmt, (unsigned int)(nodeid), ##__VA_ARGS__)

/*
 * Rate limit for lines that a retry loop would otherwise repeat: at most
 * `burst` lines per `interval_ms`; the next line let through says how many
 * were held back.  Zero-initialise, then set interval_ms and burst.
 */
struct log_ratelimit {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start_ns;
	uint32_t in_window;
	uint32_t suppressed;
};

/* True if a line may be logged now; *ret_suppressed gets the held-back count. */
static inline bool log_ratelimit_ok(struct log_ratelimit *rl, uint32_t *ret_suppressed)
{
	uint64_t now = qb_util_nano_current_get();

	if (!rl->window_start_ns ||
	    now - rl->window_start_ns >= (uint64_t)rl->interval_ms * 1000000u) {
		rl->window_start_ns = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->in_window++;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

#define log_rl(rl, prio, fmt, ...)                                                  \
	do {                                                                        \
		uint32_t log_rl_held_;                                              \
		if (log_ratelimit_ok((rl), &log_rl_held_)) {                        \
			if (log_rl_held_)                                           \
				qb_log(prio, fmt " (%u similar messages suppressed)", \
				       ##__VA_ARGS__, log_rl_held_);                \
			else                                                        \
				qb_log(prio, fmt, ##__VA_ARGS__);                   \
		}                                                                   \
	} while (0)

#endif /* GLOCKD_LOG_H */
