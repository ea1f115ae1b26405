/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/glockd.conf parser.
 *
 * Format: one "key = value" per line; blank lines and lines whose first
 * non-blank character is '#' are ignored, and " #" (a '#' after blank)
 * starts a comment after a value.  Leading and trailing blanks of keys and
 * values are dropped.  Every key is documented in deploy/glockd.conf.
 *
 * Strict on purpose, as a daemon config that guards shared storage should
 * be: an unknown key, a malformed or out-of-range value, a key given twice
 * (allow_uid and allow_gid excepted: they add up), a line longer than
 * CONFIG_LINE_MAX or containing a NUL byte is an error naming FILE:LINE.
 * The first error stops the parse.  No input may crash it: lines are read
 * into a fixed buffer byte by byte, so there is no unbounded allocation
 * even for /dev/zero.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"

#define CONFIG_LINE_MAX 1024 /* bytes, without the newline */
#define HOLD_MS_MAX 60000u   /* no sane hold time is a minute */
#define SEND_QUEUE_MAX_MAX 1000000u
#define STARTUP_FENCE_DELAY_MS_MAX 600000u /* dlm_controld's post_join_delay is 30 s */

struct parser {
	const char *path;
	unsigned int line;
	char *err;
	size_t err_len;
	unsigned int seen; /* bit per scalar key, to refuse duplicates */
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int parse_error(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->err_len) {
		if (p->line)
			snprintf(p->err, p->err_len, "%s:%u: %s", p->path, p->line, msg);
		else
			snprintf(p->err, p->err_len, "%s: %s", p->path, msg);
	}
	return -EINVAL;
}

void glockd_config_defaults(struct glockd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->node_id = 0;
	snprintf(cfg->cpg_group, sizeof(cfg->cpg_group), "glockd");
	snprintf(cfg->ipc_name, sizeof(cfg->ipc_name), "glockd");
	snprintf(cfg->dev_path, sizeof(cfg->dev_path), "/dev/glock");
	cfg->fence = GLOCKD_FENCE_NONE;
	cfg->log_target = GLOCKD_LOG_STDERR;
	cfg->log_priority = LOG_INFO;
	cfg->send_queue_max = 4096;
	/* GFS2's gl_hold_time, as glock_engine_config_defaults(). */
	cfg->hold_min_us = 10000;
	cfg->hold_max_us = 200000;
	cfg->hold_incr_us = 10000;
	cfg->hold_decr_us = 1000;
	cfg->link_port = GLOCKD_LINK_PORT_DEFAULT;
	snprintf(cfg->link_key_file, sizeof(cfg->link_key_file), "%s", GLOCKD_LINK_KEY_DEFAULT);
	cfg->link_queue_max = 4096;
	cfg->startup_fencing = true;
	cfg->startup_fence_delay_us = 10000000;
}

/* ---- value parsers: 0 or -EINVAL (message set) ---- */

/* Decimal only: no sign, no base prefix, no blanks, at most max. */
static int parse_uint(struct parser *p, const char *key, const char *v, uint64_t min,
		      uint64_t max, uint64_t *ret)
{
	uint64_t x = 0;
	const char *s;

	if (!*v)
		return parse_error(p, "%s: missing value", key);
	for (s = v; *s; s++) {
		if (*s < '0' || *s > '9')
			return parse_error(p, "%s: '%s' is not a decimal number", key, v);
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return parse_error(p, "%s: '%s' is out of range", key, v);
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x < min || x > max)
		return parse_error(p, "%s: %s is out of range [%llu, %llu]", key, v,
				   (unsigned long long)min, (unsigned long long)max);
	*ret = x;
	return 0;
}

/* A name for CPG or libqb IPC: 1..len-1 bytes of [A-Za-z0-9_.-]. */
static int parse_ident(struct parser *p, const char *key, const char *v, char *out,
		       size_t out_len)
{
	size_t n = strlen(v), i;

	if (n == 0)
		return parse_error(p, "%s: missing value", key);
	if (n >= out_len)
		return parse_error(p, "%s: longer than %zu bytes", key, out_len - 1);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("_.-", v[i]))
			return parse_error(p, "%s: '%s' may contain only letters, digits, '_', '.' and '-'",
					   key, v);
	memcpy(out, v, n + 1);
	return 0;
}

static int parse_abs_path(struct parser *p, const char *key, const char *v, char *out,
			  size_t out_len)
{
	size_t n = strlen(v), i;

	if (v[0] != '/')
		return parse_error(p, "%s: '%s' is not an absolute path", key, v);
	if (n >= out_len)
		return parse_error(p, "%s: path longer than %zu bytes", key, out_len - 1);
	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)v[i]))
			return parse_error(p, "%s: path contains a blank or control character", key);
	memcpy(out, v, n + 1);
	return 0;
}

static int parse_ms(struct parser *p, const char *key, const char *v, uint64_t min,
		    uint64_t *ret_us)
{
	uint64_t ms;
	int r = parse_uint(p, key, v, min, HOLD_MS_MAX, &ms);

	if (r)
		return r;
	*ret_us = ms * 1000;
	return 0;
}

/* A user or group, by number or by name, added once to an allow list. */
static int parse_allow_id(struct parser *p, const char *key, const char *v, bool group,
			  uint32_t *list, size_t *n)
{
	uint64_t id;
	size_t i;

	if (!*v)
		return parse_error(p, "%s: missing value", key);
	if (isdigit((unsigned char)v[0])) {
		int r = parse_uint(p, key, v, 0, (uint64_t)UINT32_MAX - 1, &id);

		if (r)
			return r;
	} else if (group) {
		struct group *gr = getgrnam(v);

		if (!gr)
			return parse_error(p, "%s: no such group '%s'", key, v);
		id = gr->gr_gid;
	} else {
		struct passwd *pw = getpwnam(v);

		if (!pw)
			return parse_error(p, "%s: no such user '%s'", key, v);
		id = pw->pw_uid;
	}
	for (i = 0; i < *n; i++)
		if (list[i] == id)
			return 0;
	if (*n >= GLOCKD_ALLOW_MAX)
		return parse_error(p, "%s: more than %d entries", key, GLOCKD_ALLOW_MAX);
	list[(*n)++] = (uint32_t)id;
	return 0;
}

static int parse_allow_uid(struct parser *p, struct glockd_config *cfg, const char *key,
			   const char *v)
{
	return parse_allow_id(p, key, v, false, cfg->allowed_uids, &cfg->n_allowed_uids);
}

static int parse_allow_gid(struct parser *p, struct glockd_config *cfg, const char *key,
			   const char *v)
{
	return parse_allow_id(p, key, v, true, cfg->allowed_gids, &cfg->n_allowed_gids);
}

/* ---- keys ---- */

enum key_id {
	K_NODE_ID, K_CPG_GROUP, K_IPC_NAME, K_DEV_PATH, K_FENCE, K_LOG, K_LOG_LEVEL,
	K_SEND_QUEUE_MAX, K_HOLD_MIN, K_HOLD_MAX, K_HOLD_INCR, K_HOLD_DECR,
	K_ALLOW_UID, K_ALLOW_GID, K_LINK_PORT, K_LINK_KEY_FILE, K_LINK_QUEUE_MAX, K_LOCK_PATH,
	K_STARTUP_FENCING, K_STARTUP_FENCE_DELAY,
};

static const struct {
	const char *name;
	enum key_id id;
	bool repeatable;
} keys[] = {
	{ "node_id", K_NODE_ID, false },
	{ "cpg_group", K_CPG_GROUP, false },
	{ "ipc_name", K_IPC_NAME, false },
	{ "dev_path", K_DEV_PATH, false },
	{ "fence", K_FENCE, false },
	{ "log", K_LOG, false },
	{ "log_level", K_LOG_LEVEL, false },
	{ "send_queue_max", K_SEND_QUEUE_MAX, false },
	{ "hold_min_ms", K_HOLD_MIN, false },
	{ "hold_max_ms", K_HOLD_MAX, false },
	{ "hold_incr_ms", K_HOLD_INCR, false },
	{ "hold_decr_ms", K_HOLD_DECR, false },
	{ "allow_uid", K_ALLOW_UID, true },
	{ "allow_gid", K_ALLOW_GID, true },
	{ "link_port", K_LINK_PORT, false },
	{ "link_key_file", K_LINK_KEY_FILE, false },
	{ "link_queue_max", K_LINK_QUEUE_MAX, false },
	{ "lock_path", K_LOCK_PATH, false },
	{ "startup_fencing", K_STARTUP_FENCING, false },
	{ "startup_fence_delay_ms", K_STARTUP_FENCE_DELAY, false },
};

static const struct {
	const char *name;
	int prio;
} levels[] = {
	{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING }, { "err", LOG_ERR },
};

#define FENCE_COMMAND_PREFIX "command:"

static int parse_value(struct parser *p, struct glockd_config *cfg, enum key_id id,
		       const char *key, const char *v)
{
	uint64_t x;
	size_t i;
	int r;

	switch (id) {
	case K_NODE_ID:
		r = parse_uint(p, key, v, 0, UINT32_MAX, &x);
		if (!r)
			cfg->node_id = (uint32_t)x;
		return r;
	case K_CPG_GROUP:
		return parse_ident(p, key, v, cfg->cpg_group, sizeof(cfg->cpg_group));
	case K_IPC_NAME:
		return parse_ident(p, key, v, cfg->ipc_name, sizeof(cfg->ipc_name));
	case K_DEV_PATH:
		if (!*v) {
			cfg->dev_path[0] = '\0'; /* no /dev/glock bridge */
			return 0;
		}
		return parse_abs_path(p, key, v, cfg->dev_path, sizeof(cfg->dev_path));
	case K_FENCE:
		if (!strcmp(v, "none")) {
			cfg->fence = GLOCKD_FENCE_NONE;
			cfg->fence_command[0] = '\0';
			return 0;
		}
		if (!strncmp(v, FENCE_COMMAND_PREFIX, strlen(FENCE_COMMAND_PREFIX))) {
			r = parse_abs_path(p, key, v + strlen(FENCE_COMMAND_PREFIX),
					   cfg->fence_command, sizeof(cfg->fence_command));
			if (!r)
				cfg->fence = GLOCKD_FENCE_COMMAND;
			return r;
		}
		return parse_error(p, "%s: '%s' is neither 'none' nor 'command:/absolute/path'",
				   key, v);
	case K_LOG:
		if (!strcmp(v, "stderr"))
			cfg->log_target = GLOCKD_LOG_STDERR;
		else if (!strcmp(v, "syslog"))
			cfg->log_target = GLOCKD_LOG_SYSLOG;
		else
			return parse_error(p, "%s: '%s' is neither 'stderr' nor 'syslog'", key, v);
		return 0;
	case K_LOG_LEVEL:
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (!strcmp(v, levels[i].name)) {
				cfg->log_priority = levels[i].prio;
				return 0;
			}
		}
		return parse_error(p, "%s: '%s' is not one of debug, info, notice, warning, err",
				   key, v);
	case K_SEND_QUEUE_MAX:
		r = parse_uint(p, key, v, 1, SEND_QUEUE_MAX_MAX, &x);
		if (!r)
			cfg->send_queue_max = (size_t)x;
		return r;
	case K_HOLD_MIN:
		return parse_ms(p, key, v, 0, &cfg->hold_min_us);
	case K_HOLD_MAX:
		return parse_ms(p, key, v, 0, &cfg->hold_max_us);
	case K_HOLD_INCR:
		return parse_ms(p, key, v, 0, &cfg->hold_incr_us);
	case K_HOLD_DECR:
		return parse_ms(p, key, v, 0, &cfg->hold_decr_us);
	case K_ALLOW_UID:
		return parse_allow_uid(p, cfg, key, v);
	case K_ALLOW_GID:
		return parse_allow_gid(p, cfg, key, v);
	case K_LINK_PORT:
		r = parse_uint(p, key, v, 1, 65535, &x);
		if (!r)
			cfg->link_port = (uint16_t)x;
		return r;
	case K_LINK_KEY_FILE:
		return parse_abs_path(p, key, v, cfg->link_key_file, sizeof(cfg->link_key_file));
	case K_LINK_QUEUE_MAX:
		r = parse_uint(p, key, v, 1, SEND_QUEUE_MAX_MAX, &x);
		if (!r)
			cfg->link_queue_max = (size_t)x;
		return r;
	case K_LOCK_PATH:
		if (!strcmp(v, "cpg"))
			cfg->lock_path = GLOCKD_LOCK_PATH_CPG;
		else if (!strcmp(v, "p2p"))
			cfg->lock_path = GLOCKD_LOCK_PATH_P2P;
		else
			return parse_error(p, "%s: '%s' is neither 'cpg' nor 'p2p'", key, v);
		return 0;
	case K_STARTUP_FENCING:
		if (!strcmp(v, "yes"))
			cfg->startup_fencing = true;
		else if (!strcmp(v, "no"))
			cfg->startup_fencing = false;
		else
			return parse_error(p, "%s: '%s' is neither 'yes' nor 'no'", key, v);
		return 0;
	case K_STARTUP_FENCE_DELAY:
		r = parse_uint(p, key, v, 0, STARTUP_FENCE_DELAY_MS_MAX, &x);
		if (!r)
			cfg->startup_fence_delay_us = x * 1000;
		return r;
	}
	return parse_error(p, "%s: internal error", key);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

static int parse_line(struct parser *p, struct glockd_config *cfg, char *line)
{
	char *key, *val, *eq, *c;
	size_t i;

	key = trim(line);
	if (!*key || *key == '#')
		return 0;
	/* " #" after the value starts a comment. */
	for (c = key + 1; *c; c++) {
		if (*c == '#' && (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	}
	eq = strchr(key, '=');
	if (!eq)
		return parse_error(p, "expected 'key = value'");
	*eq = '\0';
	key = trim(key);
	val = trim(eq + 1);
	if (!*key)
		return parse_error(p, "missing key before '='");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].name))
			continue;
		if (!keys[i].repeatable) {
			if (p->seen & (1u << keys[i].id))
				return parse_error(p, "%s: given more than once", key);
			p->seen |= 1u << keys[i].id;
		}
		return parse_value(p, cfg, keys[i].id, key, val);
	}
	/* Keep the message bounded: the key may be up to a whole line. */
	return parse_error(p, "unknown key '%.64s%s'", key, strlen(key) > 64 ? "..." : "");
}

/* Cross-key checks, once every line is in. */
static int check_config(struct parser *p, const struct glockd_config *cfg)
{
	p->line = 0;
	if (cfg->hold_min_us > cfg->hold_max_us)
		return parse_error(p, "hold_min_ms (%llu) exceeds hold_max_ms (%llu)",
				   (unsigned long long)(cfg->hold_min_us / 1000),
				   (unsigned long long)(cfg->hold_max_us / 1000));
	return 0;
}

/*
 * Reads one line into buf (NUL-terminated, newline dropped).  Returns 1 for
 * a line, 0 at end of file, or -EINVAL (too long, NUL byte) / -errno (read
 * error) with the message set.
 */
static int read_line(struct parser *p, FILE *f, char *buf, size_t len)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF) {
		if (ch == '\n')
			break;
		if (ch == '\0')
			return parse_error(p, "NUL byte in line");
		if (n + 1 >= len)
			return parse_error(p, "line longer than %zu bytes", len - 1);
		buf[n++] = (char)ch;
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		parse_error(p, "read error: %s", strerror(e));
		return -e;
	}
	buf[n] = '\0';
	return ch == EOF && n == 0 ? 0 : 1;
}

int glockd_config_load(struct glockd_config *cfg, const char *path, char *err, size_t err_len)
{
	struct parser p = { .path = path, .err = err, .err_len = err_len };
	struct glockd_config tmp;
	char buf[CONFIG_LINE_MAX + 1];
	FILE *f;
	int r;

	if (err && err_len)
		err[0] = '\0';
	if (!cfg || !path) {
		p.path = path ? path : "(null)";
		return parse_error(&p, "no configuration given");
	}
	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		parse_error(&p, "cannot open: %s", strerror(e));
		return -e;
	}
	tmp = *cfg;
	for (;;) {
		p.line++;
		r = read_line(&p, f, buf, sizeof(buf));
		if (r <= 0)
			break;
		r = parse_line(&p, &tmp, buf);
		if (r)
			break;
	}
	fclose(f);
	if (!r)
		r = check_config(&p, &tmp);
	if (!r)
		*cfg = tmp; /* all or nothing */
	return r;
}
