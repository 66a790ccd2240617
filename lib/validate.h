/*
 * validate.h - checks of short values that arrive from outside (a request,
 * cvctl's arguments, a row the database answers) and whose form alone
 * decides: a uuid, a brand colour.
 * A primitive, of lib/'s lower floor (Makefile.am lists both floors): it
 * knows no request and includes no handler's header.
 */
#ifndef CV_VALIDATE_H
#define CV_VALIDATE_H

/* 1 when s is a uuid in the canonical 8-4-4-4-12 hex form (any case).
 * Cannot fail. */
int cv_valid_uuid(const char *s);

/* 1 when s (NULL allowed) is a colour "#rrggbb" (hex digits, any case), safe
 * to write into a style sheet.  Cannot fail. */
int cv_valid_color(const char *s);

#endif
