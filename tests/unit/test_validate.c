/*
 * test_validate.c - the checks of short values by their form
 * (lib/validate.c): the uuid every API path and cvctl argument must be, and
 * the brand colour written into the portal's style sheet.
 */
#include "config.h"

#include "unit.h"
#include "validate.h"

static void
uuids(void)
{
	CHECK("uuid lower", cv_valid_uuid("0b7f1c4e-2d3a-4f5b-8c6d-7e8f9a0b1c2d"));
	CHECK("uuid upper", cv_valid_uuid("0B7F1C4E-2D3A-4F5B-8C6D-7E8F9A0B1C2D"));
	CHECK("uuid short", !cv_valid_uuid("0b7f1c4e-2d3a-4f5b-8c6d-7e8f9a0b1c2"));
	CHECK("uuid long", !cv_valid_uuid("0b7f1c4e-2d3a-4f5b-8c6d-7e8f9a0b1c2d0"));
	CHECK("uuid dash moved", !cv_valid_uuid("0b7f1c4e2-d3a-4f5b-8c6d-7e8f9a0b1c2d"));
	CHECK("uuid no dashes", !cv_valid_uuid("0b7f1c4e02d3a04f5b08c6d07e8f9a0b1c2d"));
	CHECK("uuid not hex", !cv_valid_uuid("0b7f1c4e-2d3a-4f5b-8c6d-7e8f9a0b1c2g"));
	CHECK("uuid braces", !cv_valid_uuid("{b7f1c4e-2d3a-4f5b-8c6d-7e8f9a0b1c2}"));
	CHECK("uuid empty", !cv_valid_uuid(""));
}

static void
colors(void)
{
	CHECK("color ok", cv_valid_color("#1a2B3c"));
	CHECK("color short", !cv_valid_color("#fff"));
	CHECK("color long", !cv_valid_color("#1a2b3c4"));
	CHECK("color no hash", !cv_valid_color("1a2b3c4"));
	CHECK("color inject", !cv_valid_color("red;}x"));
	CHECK("color NULL", !cv_valid_color(NULL));
}

int
main(void)
{
	uuids();
	colors();
	return unit_done();
}
