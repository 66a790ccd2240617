/*
 * auth.c - the bearer credential.  Keys are looked up by their SHA-256, so
 * the secret itself never reaches the database or a log line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "crypto.h"
#include "db.h"

enum cv_err
cv_auth_bearer_hash(const char *authorization, char hash[CV_KEY_HASH_HEX + 1])
{
	unsigned char digest[CV_SHA256_LEN];
	const char *token;
	size_t len, i;

	hash[0] = '\0';
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return CV_ERR_UNAUTHENTICATED;
	token = authorization + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	while (len > 0 && token[len - 1] == ' ')
		len--;
	if (len == 0 || len > CV_BEARER_MAX)
		return CV_ERR_UNAUTHENTICATED;
	/* RFC 6750 b64token characters only. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)token[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._~+/=", c) != NULL) || c == '\0')
			return CV_ERR_UNAUTHENTICATED;
	}
	cv_sha256(token, len, digest);
	cv_hex_encode(digest, sizeof(digest), hash);
	return CV_OK;
}

enum cv_err
cv_auth_check(const char *key_hash)
{
	const char *params[] = {key_hash};
	enum cv_err err;
	PGresult *res;

	if ((res = cv_db_exec(CV_STMT_AUTHENTICATE, params, &err)) == NULL)
		return err;
	err = PQntuples(res) == 1 ? cv_err_from_code(atoi(PQgetvalue(res, 0, 0))) : CV_ERR_INTERNAL;
	PQclear(res);
	return err;
}
