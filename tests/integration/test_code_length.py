"""The passcode's length written once: lib/codes.h's CV_CODE_MIN and
CV_CODE_MAX are what the database holds too, namely cv.queue_code's
constant code_min (sql/functions/codes.sql, which picks the hash of the
app's code length from the CV_CODE_MIN..CV_CODE_MAX hashes the responders
send) and the CHECK and DEFAULT of every code_length column, read from the
catalog of the migrated database."""
import os
import re

from stack import query

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def codes_h(name):
    with open(os.path.join(ROOT, "lib", "codes.h"), encoding="utf-8") as f:
        m = re.search(rf"^#define {name}\s+(\d+)\b", f.read(), re.M)
    assert m, f"lib/codes.h defines no {name}"
    return int(m.group(1))


def test_code_length_bounds_in_sql_are_lib_codes_h():
    low, high = codes_h("CV_CODE_MIN"), codes_h("CV_CODE_MAX")
    with open(os.path.join(ROOT, "sql", "functions", "codes.sql"), encoding="utf-8") as f:
        sql = f.read()
    constants = re.findall(r"^\s*code_min CONSTANT integer := (\d+);", sql, re.M)
    assert constants == [str(low)], constants
    assert "p_code_hashes[p_app.code_length - code_min + 1]" in sql
    # The same constant in the function the database runs, not only in the file.
    body = query("SELECT pg_catalog.pg_get_functiondef('cv.queue_code'::regproc)")[0][0]
    assert re.search(rf"code_min CONSTANT integer := {low};", body), body
    columns = query("SELECT c.relname, a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
                    " FROM pg_catalog.pg_attribute a"
                    " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
                    " LEFT JOIN pg_catalog.pg_attrdef d"
                    "   ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                    " WHERE c.relnamespace = 'cv'::regnamespace AND c.relkind = 'r'"
                    "   AND a.attname = 'code_length' AND NOT a.attisdropped ORDER BY 1")
    assert [t for t, _, _ in columns] == ["outbox", "user_apps"], columns
    for table, _, default in columns:
        assert default == str(low), (table, default)
        checks = [d for d, in query(
            "SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'c'"
            "   AND pg_catalog.pg_get_constraintdef(oid) LIKE '%%code_length%%'",
            (f"cv.{table}",))]
        assert checks == [f"CHECK (((code_length >= {low}) AND (code_length <= {high})))"], \
            (table, checks)
