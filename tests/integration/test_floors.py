"""lib/'s two floors (issue 20, item 9): the primitives Makefile.am lists as
lib_primitives know no request, so none of them includes a header of the
floor above (lib_handlers: the request's reading and answer, the FastCGI
loop and the endpoints' handlers), and neither program of src/, the mailer
nor cvctl, includes one either.  Reads the source tree."""
import glob
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def makefile_list(name):
    """The files of a variable of Makefile.am (its continuation lines)."""
    with open(os.path.join(ROOT, "Makefile.am"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(rf"^{name} =((?:.*\\\n)*.*)$", text, re.M)
    assert m, f"Makefile.am has no {name}"
    return m.group(1).replace("\\\n", " ").split()


def includes(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return re.findall(r'^#include "([^"]+)"', f.read(), re.M)


def test_no_primitive_and_no_program_of_src_includes_a_handler():
    primitives = makefile_list("lib_primitives")
    handlers = {os.path.basename(f) for f in makefile_list("lib_handlers") if f.endswith(".h")}
    assert "db.h" in {os.path.basename(f) for f in primitives} and "portal.h" in handlers
    lib = {os.path.relpath(f, ROOT) for pattern in ("*.[ch]", "*.def")  # errors.def's X-macro list
           for f in glob.glob(os.path.join(ROOT, "lib", pattern))}
    assert lib == set(primitives) | set(makefile_list("lib_handlers")), (
        "a file of lib/ on neither floor, or one listed that is not there: "
        f"{sorted(lib ^ (set(primitives) | set(makefile_list('lib_handlers'))))}")
    src = [os.path.relpath(f, ROOT) for f in glob.glob(os.path.join(ROOT, "src", "*.[ch]"))]
    assert "src/mailer.c" in src and "src/cvctl.c" in src
    wrong = [(path, h) for path in primitives + src for h in includes(path) if h in handlers]
    assert not wrong, f"includes of the handlers' floor: {wrong}"
