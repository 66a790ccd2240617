/*
 * cvctl_migrate.c - cvctl migrate, the one migrator of contact-verify
 * (tools/migrate runs it too; sql/README.md).  In one transaction it
 * applies every DIR/migrations/NNN_*.sql not yet recorded in
 * cv.schema_migrations, in name order; then each DIR/functions/NAME.sql
 * whose sha256 differs from the one recorded (all of them when a migration
 * was applied in this run, since a migration may change what the functions
 * rely on, and on a fresh database, where none is recorded); records what
 * it applied, with the routines each function file defined; drops every
 * routine of schema cv that no function file defines; and, when anything
 * changed, calls cv.apply_privileges().  Either all of it commits or
 * nothing does; a run with nothing to do changes nothing.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "cvctl.h"

#define SCRIPT_MAX (16 * 1024 * 1024)
#define NAME_MAX_LEN 200

_Static_assert((int)ST_MIGRATE_CURRENT_PARAM_VERSION == (int)ST_MIGRATE_RECORD_FILE_PARAM_VERSION &&
                   (int)ST_MIGRATE_CURRENT_PARAM_CHECKSUM == (int)ST_MIGRATE_RECORD_FILE_PARAM_CHECKSUM,
               "ST_MIGRATE_CURRENT's parameters lead ST_MIGRATE_RECORD_FILE's");
_Static_assert(ST_MIGRATE_APPLIED_PARAM__MAX == 1 && ST_MIGRATE_RECORD_PARAM__MAX == 1,
               "ST_MIGRATE_APPLIED and ST_MIGRATE_RECORD take the version alone");

/* The two kinds of file and the names each may have. */
enum kind { MIGRATION, FUNCTIONS };

/* 1 for names like 001_init.sql (migrations) or auth.sql (function files:
 * lower-case letters, digits, '_' and '-'). */
static int
valid_name(enum kind kind, const char *name)
{
	size_t i, n = strlen(name);

	if (n < 5 || n > NAME_MAX_LEN || strcmp(name + n - 4, ".sql") != 0)
		return 0;
	if (kind == MIGRATION)
		return n > 8 && isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
		       isdigit((unsigned char)name[2]) && name[3] == '_';
	for (i = 0; i < n - 4; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_' && name[i] != '-')
			return 0;
	return 1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, long n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* The file names of kind in dir, sorted, in *names (free with free_names).
 * Returns their number, or -1 with the error set. */
static long
list_files(struct cvctl *cv, const char *dir, enum kind kind, char ***names)
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
		if (!valid_name(kind, e->d_name))
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
	free_names(list, (long)n);
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

/* Runs statement st and returns its number of rows, or -1 with the error
 * set. */
static int
count_rows(struct cvctl *cv, enum cvctl_stmt st, const char *const *params)
{
	PGresult *res = cvctl_exec(cv, st, params);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n;
}

/* Runs script, naming version in its error.  Returns 0 or CVCTL_FAIL. */
static int
run_script(struct cvctl *cv, const char *script, const char *version)
{
	char what[NAME_MAX_LEN + 64];

	snprintf(what, sizeof(what), "%s failed (nothing was applied): ", version);
	return cvctl_exec_script(cv, script, what);
}

/* Applies the migrations of dir/migrations not recorded yet; adds how many
 * to *applied.  Returns 0 or CVCTL_FAIL. */
static int
apply_migrations(struct cvctl *cv, const char *dir, long *applied)
{
	char path[4096], version[NAME_MAX_LEN];
	/* ST_MIGRATE_APPLIED and ST_MIGRATE_RECORD: the version alone. */
	const char *params[ST_MIGRATE_APPLIED_PARAM__MAX] = {[ST_MIGRATE_APPLIED_PARAM_VERSION] = version};
	char **names = NULL;
	char *script;
	long n, i;
	int rc = CVCTL_FAIL, recorded;

	if (snprintf(path, sizeof(path), "%s/migrations", dir) >= (int)sizeof(path))
		return cvctl_fail(cv, "%s: name too long", dir);
	if ((n = list_files(cv, path, MIGRATION, &names)) < 0)
		return CVCTL_FAIL;
	if (n == 0) {
		rc = cvctl_fail(cv, "%s: no migrations (NNN_*.sql) there", path);
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(version, sizeof(version), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
		if ((recorded = count_rows(cv, ST_MIGRATE_APPLIED, params)) < 0)
			goto out;
		if (recorded > 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/migrations/%s", dir, names[i]) >=
		    (int)sizeof(path)) {
			cvctl_fail(cv, "%s: name too long", dir);
			goto out;
		}
		if ((script = read_script(cv, path)) == NULL)
			goto out;
		recorded = run_script(cv, script, version) == 0 &&
		           count_rows(cv, ST_MIGRATE_RECORD, params) >= 0;
		free(script);
		if (!recorded)
			goto out;
		fprintf(cv->out, "applied %s\n", version);
		(*applied)++;
	}
	rc = 0;
out:
	free_names(names, n);
	return rc;
}

/* Applies function file dir/functions/name unless it is recorded with the
 * same checksum and every routine it defined still exists (or always, when
 * force).  Sets *applied to 0 or 1.  Returns 0 or CVCTL_FAIL. */
static int
apply_function_file(struct cvctl *cv, const char *dir, const char *name, int force,
                    int *applied)
{
	char path[4096], version[NAME_MAX_LEN + 16], checksum[2 * CV_SHA256_LEN + 1];
	unsigned char digest[CV_SHA256_LEN];
	/* ST_MIGRATE_CURRENT's parameters are the first of ST_MIGRATE_RECORD_FILE's. */
	const char *params[ST_MIGRATE_RECORD_FILE_PARAM__MAX] = {
	    [ST_MIGRATE_RECORD_FILE_PARAM_VERSION] = version,
	    [ST_MIGRATE_RECORD_FILE_PARAM_CHECKSUM] = checksum};
	char *script = NULL, *snapshot = NULL;
	PGresult *res = NULL;
	int rc = CVCTL_FAIL, current;

	*applied = 0;
	snprintf(version, sizeof(version), "functions/%s", name);
	if (snprintf(path, sizeof(path), "%s/functions/%s", dir, name) >= (int)sizeof(path))
		return cvctl_fail(cv, "%s: name too long", dir);
	if ((script = read_script(cv, path)) == NULL)
		return CVCTL_FAIL;
	cv_sha256(script, strlen(script), digest);
	cv_hex_encode(digest, sizeof(digest), checksum);
	if (!force) {
		if ((current = count_rows(cv, ST_MIGRATE_CURRENT, params)) < 0)
			goto out;
		if (current > 0) {
			rc = 0;
			goto out;
		}
	}
	if ((res = cvctl_exec(cv, ST_MIGRATE_ROUTINES, NULL)) == NULL)
		goto out;
	if ((snapshot = strdup(PQgetvalue(res, 0, ST_MIGRATE_ROUTINES_COL_SNAPSHOT))) == NULL) {
		cvctl_fail(cv, "out of memory");
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (run_script(cv, script, version) != 0)
		goto out;
	params[ST_MIGRATE_RECORD_FILE_PARAM_SNAPSHOT] = snapshot;
	if ((res = cvctl_exec(cv, ST_MIGRATE_RECORD_FILE, params)) == NULL)
		goto out;
	if (strcmp(PQgetvalue(res, 0, ST_MIGRATE_RECORD_FILE_COL_ROUTINES), "0") == 0) {
		cvctl_fail(cv, "%s defines no function (CREATE OR REPLACE FUNCTION cv.NAME)", version);
		goto out;
	}
	fprintf(cv->out, "applied %s\n", version);
	*applied = 1;
	rc = 0;
out:
	PQclear(res);
	free(snapshot);
	free(script);
	return rc;
}

/* Applies the function files of dir/functions (all of them when force),
 * forgets the records of files no longer there and fails when a function
 * name is defined in two files; adds how many were applied to *applied.
 * Returns 0 or CVCTL_FAIL. */
static int
apply_function_files(struct cvctl *cv, const char *dir, int force, long *applied)
{
	char path[4096];
	char **names = NULL;
	char *present = NULL;
	const char *params[ST_MIGRATE_FORGET_PARAM__MAX];
	size_t len = 3;
	long n, i;
	int rc = CVCTL_FAIL, one;
	PGresult *res = NULL;

	if (snprintf(path, sizeof(path), "%s/functions", dir) >= (int)sizeof(path))
		return cvctl_fail(cv, "%s: name too long", dir);
	if ((n = list_files(cv, path, FUNCTIONS, &names)) < 0)
		return CVCTL_FAIL;
	if (n == 0) {
		rc = cvctl_fail(cv, "%s: no function files (NAME.sql) there", path);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (apply_function_file(cv, dir, names[i], force, &one) != 0)
			goto out;
		*applied += one;
		len += strlen("functions/") + strlen(names[i]) + 1;
	}
	/* The array of the versions there: {functions/a.sql,functions/b.sql}
	 * (valid_name admits nothing that needs quoting). */
	if ((present = malloc(len)) == NULL) {
		cvctl_fail(cv, "out of memory");
		goto out;
	}
	strcpy(present, "{");
	for (i = 0; i < n; i++) {
		strcat(present, i > 0 ? ",functions/" : "functions/");
		strcat(present, names[i]);
	}
	strcat(present, "}");
	params[ST_MIGRATE_FORGET_PARAM_PRESENT] = present;
	if (count_rows(cv, ST_MIGRATE_FORGET, params) < 0 ||
	    (res = cvctl_exec(cv, ST_MIGRATE_TWICE, NULL)) == NULL)
		goto out;
	if (PQntuples(res) > 0) {
		cvctl_fail(cv, "%s is defined in %s: a function belongs to one file",
		           PQgetvalue(res, 0, ST_MIGRATE_TWICE_COL_NAME), PQgetvalue(res, 0, ST_MIGRATE_TWICE_COL_FILES));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	free(present);
	free_names(names, n);
	return rc;
}

/* Drops the routines no function file defines; adds how many to *dropped.
 * Returns 0 or CVCTL_FAIL (a trigger still using one, for example). */
static int
drop_stale(struct cvctl *cv, long *dropped)
{
	PGresult *res = cvctl_exec(cv, ST_MIGRATE_STALE, NULL);
	int i, n;

	if (res == NULL)
		return CVCTL_FAIL;
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		fprintf(cv->out, "dropped %s\n", PQgetvalue(res, i, ST_MIGRATE_STALE_COL_SIGNATURE));
	PQclear(res);
	*dropped += n;
	return n == 0 || count_rows(cv, ST_MIGRATE_DROP_STALE, NULL) >= 0 ? 0 : CVCTL_FAIL;
}

int
cvctl_migrate(struct cvctl *cv, int argc, char **argv)
{
	const char *dir = NULL;
	const struct cvctl_opt opts[] = {
		{"--sql-dir", &dir, 0},
		{NULL, NULL, 0},
	};
	long migrations = 0, functions = 0, dropped = 0;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0)
		return rc;
	if (dir == NULL)
		dir = getenv("CV_SQL_DIR");
	if (dir == NULL || *dir == '\0')
		dir = CV_SQL_DIR;
	if ((rc = cvctl_begin(cv)) != 0)
		return rc;
	if (count_rows(cv, ST_MIGRATE_LOCK, NULL) < 0 || count_rows(cv, ST_MIGRATE_SCHEMA, NULL) < 0 ||
	    count_rows(cv, ST_MIGRATE_TABLE, NULL) < 0 || count_rows(cv, ST_MIGRATE_COLUMNS, NULL) < 0 ||
	    apply_migrations(cv, dir, &migrations) != 0 ||
	    apply_function_files(cv, dir, migrations > 0, &functions) != 0 ||
	    drop_stale(cv, &dropped) != 0)
		return CVCTL_FAIL;
	if (migrations + functions + dropped > 0 && count_rows(cv, ST_MIGRATE_PRIVILEGES, NULL) < 0)
		return CVCTL_FAIL;
	fprintf(cv->out, "%ld applied, database up to date\n", migrations + functions);
	return CVCTL_OK;
}
