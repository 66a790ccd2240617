/*
 * cvctl_portal.c - cvctl user-app portal: the login portal settings of an
 * account's user app (README, "Login portal") and its public id, which the
 * hosted page's URL and the business's JavaScript use.  Without options it
 * only shows them.
 */
#include "config.h"

#include <string.h>

#include "cvctl.h"
#include "origin.h"
#include "validate.h"

/* "'self'" or http(s) origins, space-separated (the CSP source list). */
static int
check_frame_ancestors(struct cvctl *cv, const char *value)
{
	char item[300], origin[300];
	const char *p = value;
	size_t k;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = strcspn(p, " ");
		if (k >= sizeof(item))
			return cvctl_usage(cv, "--frame-ancestors: a source is too long");
		memcpy(item, p, k);
		item[k] = '\0';
		p += k;
		if (strcmp(item, "'self'") != 0 &&
		    (cv_origin_of(item, origin, sizeof(origin)) != 0 || strcmp(item, origin) != 0))
			return cvctl_usage(cv,
			                   "--frame-ancestors: \"%s\" is neither 'self' nor a"
			                   " lowercase http(s) origin",
			                   item);
	}
	if (value[0] == ' ' || (value[0] != '\0' && value[strlen(value) - 1] == ' ') ||
	    strstr(value, "  ") != NULL)
		return cvctl_usage(cv, "--frame-ancestors: separate the sources by single spaces");
	return 0;
}

int
cvctl_user_app_portal(struct cvctl *cv, int argc, char **argv)
{
	const char *account = NULL, *origins = NULL, *frames = NULL, *color = NULL, *url = NULL;
	const char *ttl = NULL, *credentials = NULL;
	const struct cvctl_opt opts[] = {
	    {"--account", &account, OPT_REQUIRED},        {"--origins", &origins, OPT_EMPTY_OK},
	    {"--frame-ancestors", &frames, OPT_EMPTY_OK}, {"--brand-color", &color, OPT_EMPTY_OK},
	    {"--portal-url", &url, OPT_EMPTY_OK},         {"--ticket-ttl", &ttl, 0},
	    {"--allow-credentials", &credentials, 0},     {NULL, NULL, 0},
	};
	char id[32], array[CVCTL_ORIGINS_MAX * 300];
	const char *params[ST_USER_APP_PORTAL_PARAM__MAX];
	PGresult *res;
	int rc;

	if ((rc = cvctl_parse(cv, argc, argv, opts, NULL, 0)) != 0 ||
	    (rc = cvctl_check_uuid(cv, "--account", account)) != 0 ||
	    (rc = cvctl_check_int(cv, "--ticket-ttl", ttl, 10, 300, NULL)) != 0)
		return rc;
	if (origins != NULL &&
	    (rc = cvctl_origins_array(cv, "--origins", origins, array, sizeof(array))) != 0)
		return rc;
	if (frames != NULL && (rc = check_frame_ancestors(cv, frames)) != 0)
		return rc;
	if (color != NULL && *color != '\0' && !cv_valid_color(color))
		return cvctl_usage(cv, "--brand-color: \"%s\" is not #RRGGBB", color);
	if (url != NULL && *url != '\0' && (rc = cvctl_check_url(cv, "--portal-url", url)) != 0)
		return rc;
	if (credentials != NULL && strcmp(credentials, "yes") != 0 &&
	    strcmp(credentials, "no") != 0)
		return cvctl_usage(cv, "--allow-credentials: yes or no");
	if ((rc = cvctl_begin(cv)) != 0 ||
	    (rc = cvctl_account_id(cv, account, id, sizeof(id))) != 0)
		return rc;
	params[ST_USER_APP_PORTAL_PARAM_ACCOUNT_ID] = id;
	params[ST_USER_APP_PORTAL_PARAM_ALLOWED_ORIGINS] = origins != NULL ? array : NULL;
	params[ST_USER_APP_PORTAL_PARAM_FRAME_ANCESTORS] = frames;
	params[ST_USER_APP_PORTAL_PARAM_BRAND_COLOR] = color;
	params[ST_USER_APP_PORTAL_PARAM_PORTAL_URL] = url;
	params[ST_USER_APP_PORTAL_PARAM_TICKET_TTL] = ttl;
	params[ST_USER_APP_PORTAL_PARAM_ALLOW_CREDENTIALS] = credentials == NULL ? NULL
	                                                     : strcmp(credentials, "yes") == 0
	                                                         ? "true"
	                                                         : "false";
	if ((res = cvctl_exec(cv, ST_USER_APP_PORTAL, params)) == NULL)
		return CVCTL_FAIL;
	if (PQntuples(res) != 1)
		rc = cvctl_fail(cv,
		                "the account has no user app (create it with cvctl user-app add)");
	else
		cvctl_print_table(cv, res);
	PQclear(res);
	return rc;
}
