/*
 * well_known.c - GET /accounts/{uuid}/.well-known/jwks.json,
 * /.well-known/jwks.json and /.well-known/oauth-authorization-server.
 * Verifiers fetch these often and cache them, so each answer says for how
 * long and carries an ETag of its body.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "keys.h"
#include "validate.h"
#include "well_known.h"

#define CACHE_CONTROL  "public, max-age=300"
#define ACCOUNT_PREFIX "accounts/"

/* The account's key set, from the database: CV_OK with *doc, or
 * CV_ERR_NOT_FOUND for an unknown or disabled account. */
static enum cv_err
account_jwks(const char *uuid, struct json_object **doc)
{
	const char *params[CV_ACCOUNT_JWKS_PARAM__MAX] = {[CV_ACCOUNT_JWKS_PARAM_ACCOUNT_UUID] =
	                                                      uuid};
	enum cv_err err;
	PGresult *res;

	if (!cv_valid_uuid(uuid))
		return CV_ERR_NOT_FOUND;
	if ((res = cv_db_exec(CV_STMT_ACCOUNT_JWKS, params, &err)) == NULL)
		return err;
	err = CV_ERR_NOT_FOUND;
	if (PQntuples(res) == 1 && PQgetvalue(res, 0, CV_ACCOUNT_JWKS_COL_FOUND)[0] == 't') {
		*doc = json_tokener_parse(PQgetvalue(res, 0, CV_ACCOUNT_JWKS_COL_JWKS));
		err = *doc != NULL ? CV_OK : CV_ERR_INTERNAL;
	}
	PQclear(res);
	return err;
}

/* The server's key set: its one Ed25519 access-token key. */
static enum cv_err
server_jwks(const struct cv_conf *conf, struct json_object **doc)
{
	const struct cv_jwt_key *key =
	    cv_key_access(conf->access_token_key, conf->access_token_key_len);
	struct json_object *keys, *jwk;

	if (key == NULL || (jwk = cv_key_public_jwk(key->pkey, key->alg, key->kid)) == NULL)
		return CV_ERR_INTERNAL;
	if ((*doc = json_object_new_object()) == NULL || (keys = json_object_new_array()) == NULL) {
		json_object_put(jwk);
		return CV_ERR_INTERNAL;
	}
	json_object_array_add(keys, jwk);
	json_object_object_add(*doc, "keys", keys);
	return CV_OK;
}

static struct json_object *
string_array(const char *a, const char *b)
{
	struct json_object *list = json_object_new_array();

	if (list != NULL) {
		json_object_array_add(list, json_object_new_string(a));
		if (b != NULL)
			json_object_array_add(list, json_object_new_string(b));
	}
	return list;
}

/* RFC 8414 2: what a client of /oauth/token needs to know. */
static enum cv_err
metadata(const struct cv_conf *conf, struct json_object **doc)
{
	char url[1024];

	if ((*doc = json_object_new_object()) == NULL)
		return CV_ERR_INTERNAL;
	json_object_object_add(*doc, "issuer", json_object_new_string(conf->issuer));
	snprintf(url, sizeof(url), "%s/oauth/token", conf->public_url);
	json_object_object_add(*doc, "token_endpoint", json_object_new_string(url));
	snprintf(url, sizeof(url), "%s/.well-known/jwks.json", conf->public_url);
	json_object_object_add(*doc, "jwks_uri", json_object_new_string(url));
	json_object_object_add(*doc, "grant_types_supported",
	                       string_array("client_credentials", NULL));
	json_object_object_add(*doc, "token_endpoint_auth_methods_supported",
	                       string_array("client_secret_basic", "client_secret_post"));
	return CV_OK;
}

/* 1 when the If-None-Match list (RFC 9110 13.1.2: weak comparison) names
 * etag or is "*". */
static int
etag_matches(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

enum cv_err
cv_well_known(const struct cv_conf *conf, struct cv_request *req, struct cv_reply *reply)
{
	struct json_object *doc = NULL;
	unsigned char digest[CV_SHA256_LEN];
	char etag[64], tag[CV_SHA256_LEN * 4 / 3 + 2];
	const char *body;
	size_t len;
	enum cv_err err;

	if (strncmp(req->path_info, ACCOUNT_PREFIX, strlen(ACCOUNT_PREFIX)) == 0)
		err = account_jwks(req->path_info + strlen(ACCOUNT_PREFIX), &doc);
	else if (strcmp(req->path_info, "jwks") == 0)
		err = server_jwks(conf, &doc);
	else if (strcmp(req->path_info, "oauth-authorization-server") == 0)
		err = metadata(conf, &doc);
	else
		err = CV_ERR_NOT_FOUND;
	if (err != CV_OK)
		return err;
	/* The ETag: the first 128 bits of the SHA-256 of the body written
	 * (lib/response.c serializes with the same flags). */
	body = json_object_to_json_string_length(
	    doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (body == NULL) {
		json_object_put(doc);
		return CV_ERR_INTERNAL;
	}
	cv_sha256(body, len, digest);
	cv_b64url_encode(digest, 16, tag);
	snprintf(etag, sizeof(etag), "\"%s\"", tag);
	if ((reply->headers = malloc(strlen(etag) + 16)) == NULL) {
		json_object_put(doc);
		return CV_ERR_INTERNAL;
	}
	sprintf(reply->headers, "ETag: %s\r\n", etag);
	reply->cache_control = CACHE_CONTROL;
	if (etag_matches(getenv("HTTP_IF_NONE_MATCH"), etag)) {
		reply->status = 304;
		json_object_put(doc);
	} else {
		reply->document = doc;
	}
	return CV_OK;
}
