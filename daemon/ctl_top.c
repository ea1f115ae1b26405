/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glockctl top: a live view of the node's glocks, in the manner of gfs2's
 * glocktop and top(1).
 *
 *   glockctl top [-n N] [-d SECONDS] [-l LINES] [--lockspace LS]
 *
 * Every refresh (default 1 s) asks glockd for its status, the cluster
 * table (DUMP: holders and waiters per node) and this node's glstats
 * (STATS: srtt, srttb, demotes, requests), and shows the glocks that
 * matter first: those with waiters (most first), then those with the most
 * demotes per second, then the most requests per second, then the most
 * holders.  Rates are differences between two refreshes over the time
 * between them, so the first screen shows none.  The agent keeps a
 * glock's stats only while the node has it (held or cached), so the rates
 * of a glock that keeps leaving the node count from its return.
 *
 * On a terminal the screen is redrawn in place and 'q' (or ^C) quits; when
 * standard output is not a terminal every refresh is printed as plain
 * text, one block after another, with no escape sequences.  -n N stops
 * after N refreshes (default: until quit).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "glockctl.h"

#define TOP_NAME_MAX 96
#define TOP_NODES_TEXT 64

struct top_row {
	char key[TOP_NAME_MAX];  /* "ls:type/number", type and number in hex */
	char holders[TOP_NODES_TEXT];
	char waiters[TOP_NODES_TEXT];
	uint32_t here;           /* this node's cached mode */
	bool has_here;
	size_t n_holders, n_waiters, n_expired;
	bool has_stats;
	int64_t srtt, srttb;     /* ns */
	uint64_t demotes, dcount;
	double demotes_s, req_s; /* per second, since the previous refresh */
};

struct top_frame {
	struct top_row *rows;
	size_t n, cap;
};

struct top_opts {
	long iterations;   /* 0: until quit */
	long delay_ms;
	long lines;        /* 0: the terminal's height, or all when not a terminal */
	const char *lockspace;
};

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void frame_free(struct top_frame *f)
{
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

static void make_key(const GlockIpcName *n, char *out, size_t len)
{
	snprintf(out, len, "%s:%" PRIx32 "/%" PRIx64, n->lockspace, n->type, n->number);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct top_row *)a)->key, ((const struct top_row *)b)->key);
}

static struct top_row *find(struct top_frame *f, const char *key)
{
	struct top_row k;

	snprintf(k.key, sizeof(k.key), "%s", key);
	return f->n ? bsearch(&k, f->rows, f->n, sizeof(*f->rows), key_cmp) : NULL;
}

static struct top_row *add_row(struct top_frame *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct top_row *v = realloc(f->rows, cap * sizeof(*v));

		if (!v)
			return NULL;
		f->rows = v;
		f->cap = cap;
	}
	memset(&f->rows[f->n], 0, sizeof(f->rows[f->n]));
	return &f->rows[f->n++];
}

/* "1:EX 3:SH", cut at the buffer's end with a '+'. */
static void nodes_text(GlockIpcNodeMode **v, size_t n, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = 0;
	for (i = 0; i < n; i++) {
		int w = snprintf(out + used, len - used, "%s%u:%s", i ? " " : "", v[i]->node,
				 glock__ctl_mode_str(v[i]->mode));

		if (w < 0 || (size_t)w >= len - used) {
			if (len >= 2) {
				out[len - 2] = '+';
				out[len - 1] = 0;
			}
			return;
		}
		used += (size_t)w;
	}
}

static int load_dump(struct glock_ls *ls, const struct top_opts *o, struct top_frame *f)
{
	uint64_t start = 0;
	int err = 0;

	for (;;) {
		GlockIpcDumpReply *r = glock__ctl_dump_page(ls, o->lockspace, start, &err);
		size_t i;
		bool more;

		if (!r)
			return err;
		for (i = 0; i < r->n_records; i++) {
			GlockIpcDumpRecord *d = r->records[i];
			struct top_row *row = add_row(f);

			if (!row) {
				glock_ipc_dump_reply__free_unpacked(r, NULL);
				return -ENOMEM;
			}
			make_key(d->name, row->key, sizeof(row->key));
			nodes_text(d->holders, d->n_holders, row->holders, sizeof(row->holders));
			nodes_text(d->waiters, d->n_waiters, row->waiters, sizeof(row->waiters));
			row->n_holders = d->n_holders;
			row->n_waiters = d->n_waiters;
			row->n_expired = d->n_expired;
			row->has_here = d->has_cached_mode;
			row->here = d->cached_mode;
		}
		start = r->next;
		more = r->more;
		glock_ipc_dump_reply__free_unpacked(r, NULL);
		if (!more)
			return 0;
	}
}

/* Stats of glocks this node's agent knows; one it knows and the table does not gets a row. */
static int load_stats(struct glock_ls *ls, const struct top_opts *o, struct top_frame *f)
{
	uint64_t start = 0;
	size_t n_dump = f->n;
	int err = 0;

	qsort(f->rows, f->n, sizeof(*f->rows), key_cmp);
	for (;;) {
		GlockIpcStatsReply *r = glock__ctl_stats_page(ls, o->lockspace, start, &err);
		size_t i;
		bool more;

		if (!r)
			return err;
		for (i = 0; i < r->n_records; i++) {
			GlockIpcStatsRecord *s = r->records[i];
			char key[TOP_NAME_MAX];
			struct top_row *row, *found;
			size_t saved = f->n;

			make_key(s->name, key, sizeof(key));
			f->n = n_dump; /* search the sorted part only */
			found = find(f, key);
			f->n = saved;
			row = found ? found : add_row(f);
			if (!row) {
				glock_ipc_stats_reply__free_unpacked(r, NULL);
				return -ENOMEM;
			}
			if (!found) {
				snprintf(row->key, sizeof(row->key), "%s", key);
				row->has_here = true;
				row->here = s->cached_mode;
			}
			row->has_stats = true;
			row->srtt = s->srtt;
			row->srttb = s->srttb;
			row->demotes = s->demotes;
			row->dcount = s->dcount;
		}
		start = r->next;
		more = r->more;
		glock_ipc_stats_reply__free_unpacked(r, NULL);
		if (!more)
			break;
	}
	qsort(f->rows, f->n, sizeof(*f->rows), key_cmp);
	return 0;
}

static void rates(struct top_frame *cur, struct top_frame *prev, uint64_t dt_ms)
{
	size_t i;

	if (!dt_ms)
		return;
	for (i = 0; i < cur->n; i++) {
		struct top_row *r = &cur->rows[i], *p = find(prev, r->key);

		if (!r->has_stats)
			continue;
		if (!p || !p->has_stats) {
			/* new since the last refresh: all its counts are new */
			r->demotes_s = (double)r->demotes * 1000.0 / (double)dt_ms;
			r->req_s = (double)r->dcount * 1000.0 / (double)dt_ms;
			continue;
		}
		/*
		 * The agent drops a glock's stats with the glock when the node
		 * gives it up entirely (UN, no holder): a count below the last
		 * one started again from zero since.
		 */
		r->demotes_s = (double)(r->demotes >= p->demotes ? r->demotes - p->demotes :
					r->demotes) * 1000.0 / (double)dt_ms;
		r->req_s = (double)(r->dcount >= p->dcount ? r->dcount - p->dcount : r->dcount) *
			   1000.0 / (double)dt_ms;
	}
}

static int importance_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->n_waiters != y->n_waiters)
		return x->n_waiters < y->n_waiters ? 1 : -1;
	if (x->demotes_s != y->demotes_s)
		return x->demotes_s < y->demotes_s ? 1 : -1;
	if (x->req_s != y->req_s)
		return x->req_s < y->req_s ? 1 : -1;
	if (x->n_holders != y->n_holders)
		return x->n_holders < y->n_holders ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void print_us(FILE *out, bool have, int64_t ns)
{
	if (have)
		fprintf(out, " %9.1f", (double)ns / 1000.0);
	else
		fprintf(out, " %9s", "-");
}

static void show(FILE *out, const GlockIpcStatusReply *st, struct top_frame *f, bool tty,
		 long lines, bool have_rates)
{
	struct top_row *rows;
	char when[16];
	time_t t = time(NULL);
	struct tm tm;
	size_t i, shown;

	rows = malloc((f->n ? f->n : 1) * sizeof(*rows));
	if (!rows)
		return;
	if (f->n)
		memcpy(rows, f->rows, f->n * sizeof(*rows));
	qsort(rows, f->n, sizeof(*rows), importance_cmp);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (tty)
		fputs("\033[H\033[J", out);
	fprintf(out, "glockctl top - %s  node %u: %s, %s, %s  members %zu\n", when,
		st->local_node, st->connected ? "connected" : "NOT connected",
		st->quorate ? "quorate" : "NOT quorate", st->synced ? "synced" : "NOT synced",
		st->n_members);
	fprintf(out, "glocks: %" PRIu64 " in the cluster table, %" PRIu64 " known here (%" PRIu64
		" idle cached); local holders %" PRIu64 ", waiters %" PRIu64 ", clients %" PRIu64
		"\n", st->glocks, st->agent_glocks, st->cached_idle, st->local_holders,
		st->local_waiters, st->clients);
	fprintf(out, "%-40s %-4s %-16s %-16s %7s %7s %9s %9s\n", "GLOCK", "HERE", "HOLDERS",
		"WAITERS", "DEM/s", "REQ/s", "SRTT us", "SRTTB us");
	shown = f->n;
	if (lines > 0 && (size_t)lines < shown)
		shown = (size_t)lines;
	for (i = 0; i < shown; i++) {
		const struct top_row *r = &rows[i];

		fprintf(out, "%-40.40s %-4s %-16.16s %-16.16s", r->key,
			r->has_here ? glock__ctl_mode_str(r->here) : "-",
			r->n_holders ? r->holders : "-", r->n_waiters ? r->waiters : "-");
		if (have_rates && r->has_stats)
			fprintf(out, " %7.1f %7.1f", r->demotes_s, r->req_s);
		else
			fprintf(out, " %7s %7s", "-", "-");
		print_us(out, r->has_stats, r->srtt);
		print_us(out, r->has_stats, r->srttb);
		if (r->n_expired)
			fprintf(out, " (%zu expired)", r->n_expired);
		fputc('\n', out);
	}
	if (shown < f->n)
		fprintf(out, "... %zu more\n", f->n - shown);
	if (!tty)
		fputc('\n', out);
	fflush(out);
	free(rows);
}

/* Waits up to ms; on a terminal a 'q' ends it.  False: stop. */
static bool wait_tick(long ms, bool keys)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t end = now_ms() + (uint64_t)ms;

	while (!top_stop) {
		uint64_t now = now_ms();
		int n;

		if (now >= end)
			return true;
		n = poll(keys ? &p : NULL, keys ? 1 : 0, (int)(end - now));
		if (n > 0 && keys) {
			char c;

			if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q')
				return false;
		}
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: glockctl top [-n N] [-d SECONDS] [-l LINES] [--lockspace LS]\n"
		   "The node's glocks, those with waiters or the most demotes/s first: holders\n"
		   "and waiters per node, srtt/srttb; refreshed every -d seconds (default 1).\n"
		   "-n N: N refreshes, then exit.  On a terminal 'q' quits; otherwise plain text.\n");
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_opts(int argc, char **argv, struct top_opts *o)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "lines", required_argument, NULL, 'l' },
		{ "lockspace", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	double d;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay_ms = 1000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:d:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_long(optarg, 1, 1000000000L, &o->iterations))
				goto bad;
			break;
		case 'l':
			if (!parse_long(optarg, 1, 1000000L, &o->lines))
				goto bad;
			break;
		case 'd':
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || !*optarg || *end || !(d >= 0.1 && d <= 3600))
				goto bad;
			o->delay_ms = (long)(d * 1000.0);
			break;
		case 'L':
			if (!*optarg || strlen(optarg) > GLOCK_LOCKSPACE_LEN)
				goto bad;
			o->lockspace = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind == argc)
		return 0;
bad:
	fprintf(stderr, "glockctl: top: bad argument%s%s\n", optind < argc ? " " : "",
		optind < argc ? argv[optind] : "");
	usage(stderr);
	return -1;
}

static long screen_lines(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_row < 7)
		return 20;
	return ws.ws_row - 5; /* three header lines, "... more", the cursor's */
}

int glock__ctl_top_main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct top_frame cur = { 0 }, prev = { 0 };
	struct termios saved, raw;
	struct top_opts o;
	struct glock_ls *ls;
	bool tty = isatty(STDOUT_FILENO), keys = false, have_prev = false;
	uint64_t prev_ms = 0;
	long i;
	int ret = 0, err;

	err = parse_opts(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : 2;
	if (glock__ctl_admin_open(&ls))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty && isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		keys = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	for (i = 0; !top_stop && (!o.iterations || i < o.iterations); i++) {
		GlockIpcStatusReply *st;
		uint64_t t;

		if (i && !wait_tick(o.delay_ms, keys))
			break;
		st = glock__ctl_status(ls);
		if (!st) {
			ret = 1;
			break;
		}
		t = now_ms();
		err = load_dump(ls, &o, &cur);
		if (!err)
			err = load_stats(ls, &o, &cur);
		if (err) {
			if (err == -ENOMEM)
				fprintf(stderr, "glockctl: top: out of memory\n");
			glock_ipc_status_reply__free_unpacked(st, NULL);
			ret = 1;
			break;
		}
		if (have_prev)
			rates(&cur, &prev, t - prev_ms);
		show(stdout, st, &cur, tty, o.lines ? o.lines : tty ? screen_lines() : 0,
		     have_prev);
		glock_ipc_status_reply__free_unpacked(st, NULL);
		frame_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		prev_ms = t;
		have_prev = true;
	}
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	frame_free(&cur);
	frame_free(&prev);
	glock_close(ls);
	return ret;
}
