/*
 * test_error_sql.c - SQL never returns a number without a row: every error
 * number the functions of sql/functions/ answer as a result (result := N,
 * result = N, and the THEN N and ELSE N of a function whose value another
 * takes as its result, as portal_gate) names its row of lib/errors.def by a
 * "-- CV_ERR_<NAME>" comment on its line, and that row has this code.  So a
 * reader of the SQL sees the name, and a code changed on one side only, or a
 * number the C side cannot map (cv_err_from_code would make it a 1500), fails
 * here.  Also: the codes of lib/errors.def are unique.
 */
#include "config.h"

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "unit.h"

static const struct {
	const char *name;
	int code;
} rows[] = {
#define CV_ERROR(name, code, status, message) {#name, code},
#include "errors.def"
#undef CV_ERROR
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* The code of the row CV_ERR_<name>, or -1. */
static int
code_of(const char *name)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].code;
	return -1;
}

struct patterns {
	regex_t result;   /* result := N, result = N */
	regex_t branch;   /* THEN N, ELSE N */
	regex_t function; /* CREATE OR REPLACE FUNCTION cv.NAME */
	regex_t name;     /* CV_ERR_NAME */
};

static int checked;

/* The functions whose value a function takes as its result (result :=
 * cv.NAME(...), as portal_gate's): their THEN and ELSE numbers are results. */
static char gates[16][64];
static size_t ngates;

static int
is_gate(const char *name)
{
	size_t i;

	for (i = 0; i < ngates; i++)
		if (strcmp(gates[i], name) == 0)
			return 1;
	return 0;
}

/* Records the functions of the file at path that other functions take as
 * their result. */
static void
find_gates(const char *path, const regex_t *gate_re)
{
	char line[4096];
	regmatch_t m[2];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (regexec(gate_re, line, 2, m, 0) != 0 || ngates == 16)
			continue;
		line[m[1].rm_eo] = '\0';
		if (!is_gate(line + m[1].rm_so))
			snprintf(gates[ngates++], sizeof(gates[0]), "%s", line + m[1].rm_so);
	}
	fclose(f);
}

/* Checks each line of the file at path: a result number carries the name of
 * its row, a name is a row and stands on the line of its code. */
static void
check_file(const char *path, const struct patterns *re)
{
	char line[4096], where[1100], code[4096], name[128], function[64] = "";
	regmatch_t m[3];
	unsigned lineno = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		CHECK(path, 0);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *comment = strstr(line, "--"), *p;
		int number = 0, named = -1;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		snprintf(code, sizeof(code), "%.*s",
		         comment != NULL ? (int)(comment - line) : (int)strlen(line), line);
		if (regexec(&re->function, code, 2, m, 0) == 0)
			snprintf(function, sizeof(function), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			         code + m[1].rm_so);
		if (comment != NULL && regexec(&re->name, comment, 2, m, 0) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			         comment + m[1].rm_so);
			named = code_of(name);
			if (named < 0)
				printf("FAIL %s: lib/errors.def has no row CV_ERR_%s\n", where,
				       name);
			CHECK(where, named >= 0);
		}
		if (regexec(&re->result, code, 3, m, 0) == 0)
			number = atoi(code + m[2].rm_so);
		else if (is_gate(function))
			for (p = code; regexec(&re->branch, p, 3, m, 0) == 0; p += m[0].rm_eo)
				if ((number = atoi(p + m[2].rm_so)) != 0)
					break;
		if (number == 0) {
			/* a name without a result number: only on the line of its code */
			if (named > 0) {
				snprintf(name, sizeof(name), "%d", named);
				CHECK(where, strstr(code, name) != NULL);
			}
			continue;
		}
		checked++;
		if (named != number)
			printf("FAIL %s: %d without the \"-- CV_ERR_<NAME>\" of its row%s\n", where,
			       number, named >= 0 ? " (the row named has another code)" : "");
		CHECK(where, named == number);
	}
	fclose(f);
}

/* The paths of the function files, into paths; returns how many. */
static size_t
function_files(char paths[][1024], size_t max)
{
	struct dirent *de;
	size_t n = 0, len;
	DIR *dir;

	if ((dir = opendir(CV_SRCDIR "/sql/functions")) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL && n < max) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		snprintf(paths[n++], 1024, "%s/sql/functions/%s", CV_SRCDIR, de->d_name);
	}
	closedir(dir);
	return n;
}

int
main(void)
{
	static char paths[64][1024];
	struct patterns re;
	regex_t gate_re;
	size_t i, j, n;

	/* One check per row: its code is no other row's, and maps back to it. */
	for (i = 0; i < NROWS; i++) {
		int unique = 1;

		for (j = i + 1; j < NROWS; j++)
			unique &= rows[i].code != rows[j].code;
		CHECK(rows[i].name, unique &&
		                        cv_err_info(cv_err_from_code(rows[i].code))->code == rows[i].code);
	}
	/* the Users Orchestrator's own numbers of before are no rows */
	CHECK("1014 not registered", cv_err_from_code(1014) == CV_ERR_NOT_REGISTERED);
	CHECK("14 is no row", cv_err_from_code(14) == CV_ERR_INTERNAL);

	if (regcomp(&re.result, "(result[[:space:]]*:?=)[[:space:]]*([0-9]+)",
	            REG_EXTENDED | REG_ICASE) != 0 ||
	    regcomp(&re.branch, "(THEN|ELSE)[[:space:]]+([0-9]+)", REG_EXTENDED | REG_ICASE) != 0 ||
	    regcomp(&re.function, "FUNCTION[[:space:]]+cv\\.([a-z_0-9]+)",
	            REG_EXTENDED | REG_ICASE) != 0 ||
	    regcomp(&re.name, "CV_ERR_([A-Z0-9_]+)", REG_EXTENDED) != 0 ||
	    regcomp(&gate_re, "result[[:space:]]*:=[[:space:]]*cv\\.([a-z_0-9]+)\\(",
	            REG_EXTENDED) != 0)
		return 2;
	n = function_files(paths, 64);
	CHECK("sql/functions", n > 0);
	for (i = 0; i < n; i++)
		find_gates(paths[i], &gate_re);
	CHECK("portal_gate is a result", is_gate("portal_gate"));
	for (i = 0; i < n; i++)
		check_file(paths[i], &re);
	/* the patterns still find the SQL's results (api.sql alone has 9) */
	CHECK("results found", checked >= 20);
	regfree(&re.result);
	regfree(&re.branch);
	regfree(&re.function);
	regfree(&re.name);
	regfree(&gate_re);
	return unit_done();
}
