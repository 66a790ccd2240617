/*
 * cvctl_migrate.c - cvctl migrate: brings the database up to date, as
 * tools/migrate does.  Every DIR/NNN_*.sql whose version (the file name
 * without .sql) is not in cv.schema_migrations is applied, in name order, in
 * one transaction together with the row that records it, so a migration is
 * wholly applied and recorded or not at all.  Unlike the other commands this
 * one commits once per migration: those before a failing one stay applied.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cvctl.h"

#define SCRIPT_MAX (16 * 1024 * 1024)

/* 1 for names like 001_init.sql. */
static int
is_migration(const char *name)
{
	size_t n = strlen(name);

	return n > 8 && isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
	       isdigit((unsigned char)name[2]) && name[3] == '_' &&
	       strcmp(name + n - 4, ".sql") == 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migration file names in dir, sorted, in *names (the caller frees each
 * and the array).  Returns their number, or -1 with the error set. */
static long
list_migrations(struct cvctl *cv, const char *dir, char ***names)
{
	DIR *d;
	struct dirent *e;
	char **list = NULL, **grown;
	size_t n = 0, cap = 0;

	*names = NULL;
	if ((d = opendir(dir)) == NULL) {
		cvctl_fail(cv, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_migration(e->d_name))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((grown = realloc(list, cap * sizeof(*list))) == NULL)
				goto oom;
			list = grown;
		}
		if ((list[n] = strdup(e->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(list, n, sizeof(*list), by_name);
	*names = list;
	return (long)n;
oom:
	closedir(d);
	while (n > 0)
		free(list[--n]);
	free(list);
	cvctl_fail(cv, "out of memory");
	return -1;
}

/* The whole of file path as a string (the caller frees), or NULL with the
 * error set. */
static char *
read_script(struct cvctl *cv, const char *path)
{
	FILE *f;
	struct stat st;
	char *text = NULL;
	size_t got;

	if ((f = fopen(path, "r")) == NULL) {
		cvctl_fail(cv, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SCRIPT_MAX) {
		cvctl_fail(cv, "%s: not a regular file of at most 16 MiB", path);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		cvctl_fail(cv, "out of memory");
		goto out;
	}
	got = fread(text, 1, (size_t)st.st_size, f);
	if (got != (size_t)st.st_size || ferror(f)) {
		cvctl_fail(cv, "%s: read error", path);
		free(text);
		text = NULL;
		goto out;
	}
	text[got] = '\0';
	if (strlen(text) != got) {
		cvctl_fail(cv, "%s: contains a NUL byte", path);
		free(text);
		text = NULL;
	}
out:
	fclose(f);
	return text;
}

/* Applies dir/name unless it is recorded.  Returns 0 (with *applied 0 or
 * 1) or CVCTL_FAIL with the transaction rolled back. */
static int
apply(struct cvctl *cv, const char *dir, const char *name, int *applied)
{
	char version[256], path[4096], what[300];
	const char *params[1] = {version};
	char *script = NULL;
	PGresult *res;
	int rc;

	*applied = 0;
	if (snprintf(version, sizeof(version), "%.*s", (int)(strlen(name) - 4), name) >=
	        (int)sizeof(version) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return cvctl_fail(cv, "%s/%s: name too long", dir, name);
	if ((rc = cvctl_begin(cv)) != 0)
		return rc;
	if ((res = cvctl_exec(cv, ST_MIGRATE_LOCK, NULL)) == NULL)
		return CVCTL_FAIL;
	PQclear(res);
	if ((res = cvctl_exec(cv, ST_MIGRATE_APPLIED, params)) == NULL)
		return CVCTL_FAIL;
	rc = PQntuples(res);
	PQclear(res);
	if (rc > 0) {
		cvctl_rollback(cv);
		return 0;
	}
	if ((script = read_script(cv, path)) == NULL)
		return CVCTL_FAIL;
	snprintf(what, sizeof(what), "%s failed (nothing of it was applied): ", version);
	rc = cvctl_exec_script(cv, script, what);
	free(script);
	if (rc != 0)
		return rc;
	if ((res = cvctl_exec(cv, ST_MIGRATE_RECORD, params)) == NULL)
		return CVCTL_FAIL;
	PQclear(res);
	if ((rc = cvctl_commit(cv)) != 0)
		return rc;
	*applied = 1;
	return 0;
}

int
cvctl_migrate(struct cvctl *cv, int argc, char **argv)
{
	const char *dir = NULL;
	const struct cvctl_opt opts[] = {
		{"--sql-dir", &dir, 0},
		{NULL, NULL, 0},
	};
	char **names = NULL;
	long n, i, count = 0;
	int rc, applied;
	PGresult *res;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0)
		return rc;
	if (dir == NULL)
		dir = getenv("CV_SQL_DIR");
	if (dir == NULL || *dir == '\0')
		dir = CV_SQL_DIR;
	if ((n = list_migrations(cv, dir, &names)) < 0)
		return CVCTL_FAIL;
	if (n == 0) {
		rc = cvctl_fail(cv, "%s: no migrations (NNN_*.sql) there", dir);
		goto out;
	}
	if ((rc = cvctl_begin(cv)) != 0)
		goto out;
	if ((res = cvctl_exec(cv, ST_MIGRATE_SCHEMA, NULL)) == NULL ||
	    (PQclear(res), res = cvctl_exec(cv, ST_MIGRATE_TABLE, NULL)) == NULL) {
		rc = CVCTL_FAIL;
		goto out;
	}
	PQclear(res);
	if ((rc = cvctl_commit(cv)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = apply(cv, dir, names[i], &applied)) != 0)
			goto out;
		if (applied) {
			fprintf(cv->out, "applied %.*s\n", (int)(strlen(names[i]) - 4), names[i]);
			count++;
		}
	}
	fprintf(cv->out, "%ld applied, database up to date\n", count);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
