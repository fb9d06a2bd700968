/*
 * rest_process.c - the agent process's own figures for GET /metrics (Prometheus' process_*
 * series), read from /proc on the server thread that answers the scrape.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rest.h"

/* /proc/self/stat is one line: pid, "(comm)" and 50-odd numbers; comm may hold anything. */
#define PROC_STAT_MAX 1024

/* The fields of /proc/self/stat after "(comm) ", counted from 3 as proc(5) numbers them. */
enum {
	F_UTIME = 14,
	F_STIME = 15,
	F_THREADS = 20,
	F_STARTTIME = 22,
	F_VSIZE = 23,
	F_RSS = 24
};

static int read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	if (n == 0)
		return -EIO;
	out[n] = '\0';
	return 0;
}

/* Seconds since the epoch at which the system booted ("btime" of /proc/stat). */
static int boot_time(long long *out)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", out) == 1) {
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static int64_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int64_t n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int rest_process_read(struct rest_process *out)
{
	char line[PROC_STAT_MAX];
	unsigned long long v[F_RSS + 1] = { 0 };
	long ticks = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	long long btime = 0;
	struct rlimit rl;
	char *p, *end;
	int rc;

	rc = read_line("/proc/self/stat", line, sizeof(line));
	if (rc != 0)
		return rc;
	p = strrchr(line, ')');
	if (!p || ticks <= 0 || page <= 0)
		return -EIO;
	p++;
	for (int field = 3; field <= F_RSS; field++) {
		while (*p == ' ')
			p++;
		if (field == 3) { /* the state letter */
			p++;
			continue;
		}
		errno = 0;
		v[field] = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return -EIO;
		p = end;
	}
	rc = boot_time(&btime);
	if (rc != 0)
		return rc;
	out->cpu_seconds = (double)(v[F_UTIME] + v[F_STIME]) / (double)ticks;
	out->resident_bytes = v[F_RSS] * (unsigned long long)page;
	out->virtual_bytes = v[F_VSIZE];
	out->threads = (int64_t)v[F_THREADS];
	out->start_time_seconds = (double)btime + (double)v[F_STARTTIME] / (double)ticks;
	out->open_fds = count_fds();
	out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
			       ? (int64_t)rl.rlim_cur
			       : -1;
	return 0;
}
