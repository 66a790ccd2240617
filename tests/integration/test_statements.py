"""The C-SQL contract by name (issue 20, item 3): every statement of
lib/db.c and of cvctl (src/cvctl_db.c) prepares on the migrated database and
takes the parameters and answers the columns, by name and in order, that the
lists in lib/db.h and src/cvctl.h give the C side.  The checking is
tests/db/describe_statements.c (PQdescribePrepared, nothing executed); it
first shows that its comparison refuses a wrong name or count."""
import os
import re
import subprocess

from stack import env


def test_every_statement_takes_and_answers_what_the_c_side_names():
    program = os.path.join(env("CV_BIN_DIR"), "describe_statements")
    assert os.access(program, os.X_OK), f"{program} is missing (tools/lib.sh cv_copy_bins)"
    p = subprocess.run([program, env("CV_PG_DSN")], capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    failures = [line for line in lines if line.startswith("FAIL")]
    assert p.returncode == 0 and not failures and p.stderr == "", (
        f"exit {p.returncode}: " + "; ".join(failures) + p.stderr[-2000:])
    summary = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1] if lines else "")
    assert summary, p.stdout[-2000:]
    # The four checks of the comparison, and more than one statement of each table.
    names = [line[5:] for line in lines if line.startswith("ok   ")]
    assert sum(n.startswith("self-check:") for n in names) == 4, names
    assert sum(n.startswith("lib/db.c ") for n in names) >= 20, names
    assert sum(n.startswith("src/cvctl_db.c ") for n in names) >= 30, names
    assert int(summary.group(1)) == len(names)
