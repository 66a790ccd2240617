"""ARCHITECTURE.md's endpoint table against the source tree (issue 20, item
6), so that it cannot drift: each row's path goes, by nginx.conf.example, to
the socket of the row's cgi-bin/NAME.c; that program allows the method and
calls the row's handler; the handler is defined in lib/ and executes the
row's statements (in its own file or in a module of lib/ whose header it
includes); those statements of lib/db.c call exactly the row's SQL
functions; and each function is defined in the row's sql/functions file.
Every responder location of nginx.conf.example and every method of every
cgi-bin program has a row.  Reads the source tree."""
import glob
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def cells(cell):
    """The `quoted` items of a cell ("—" for none)."""
    return re.findall(r"`([^`]+)`", cell)


def table_rows(text):
    """The rows of the endpoint table: (endpoint, cgi, handler, statements,
    functions, files), each cell a list of its items."""
    m = re.search(r"^\| endpoint \| cgi-bin \|.*\n\|[- |]+\n((?:\|.*\n)+)", text, re.M)
    assert m, "ARCHITECTURE.md has no endpoint table"
    rows = []
    for line in m.group(1).splitlines():
        parts = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(parts) == 6, f"a row without 6 cells: {line}"
        rows.append([cells(c) for c in parts])
    return rows


def nginx_locations():
    """(modifier, pattern, socket NAME) of every location with a fastcgi_pass."""
    text = read("nginx.conf.example")
    found = []
    for m in re.finditer(r"location (=|~) (\S+) \{((?:[^{}])*)\}", text):
        sock = re.search(r"fastcgi_pass unix:@RUNDIR@/([a-z-]+)\.sock;", m.group(3))
        if sock:
            found.append((m.group(1), m.group(2), sock.group(1)))
    return found


def socket_for(path, locations):
    """The socket nginx sends path to (placeholders {x} filled in)."""
    concrete = re.sub(r"\{[a-z_]+\}", "abc_1-X", path)
    for modifier, pattern, sock in locations:
        if modifier == "=" and pattern == concrete:
            return sock
        if modifier == "~" and re.search(pattern, concrete):
            return sock
    return None


def statement_texts():
    """CV_STMT_NAME -> its SQL text in lib/db.c's table."""
    text = read("lib/db.c")
    start = "statements[CV_STMT__MAX] = {"
    table = text[text.index(start) + len(start):]
    table = table[:table.index("\n};")]
    texts = {}
    for m in re.finditer(r"\[(CV_STMT_[A-Z_]+)\] = \{(.*?)SHAPE\(", table, re.S):
        texts[m.group(1)] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
    return texts


def sql_definitions():
    """function name -> the sql/functions file (basename) defining it."""
    defined = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "sql", "functions", "*.sql"))):
        with open(path, encoding="utf-8") as f:
            for name in re.findall(r"^CREATE OR REPLACE (?:FUNCTION|PROCEDURE) cv\.([a-z_]+)\(",
                                   f.read(), re.M):
                defined[name] = os.path.basename(path)
    return defined


def handler_files(handler):
    """The lib/ file defining handler, and the files whose statements it
    reaches: itself and the lib/*.c of every lib header it includes."""
    for path in sorted(glob.glob(os.path.join(ROOT, "lib", "*.c"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if re.search(rf"^{handler}\(", text, re.M):
            reach = {os.path.relpath(path, ROOT)}
            for h in re.findall(r'^#include "([a-z_]+)\.h"', text, re.M):
                if os.path.exists(os.path.join(ROOT, "lib", h + ".c")):
                    reach.add(f"lib/{h}.c")
            return os.path.relpath(path, ROOT), reach
    return None, set()


def executed(paths):
    found = set()
    for path in paths:
        found |= set(re.findall(r"cv_db_exec\((CV_STMT_[A-Z_]+)", read(path)))
    return found


def problems(text):
    """What is wrong with ARCHITECTURE.md's (text) endpoint table: a list of
    messages, empty when every row holds."""
    locations = nginx_locations()
    stmts = statement_texts()
    defined = sql_definitions()
    wrong = []
    covered = set()
    for endpoint, cgi, handler, statements, functions, files in table_rows(text):
        row = endpoint[0] if endpoint else "?"

        def bad(msg):
            wrong.append(f"{row}: {msg}")

        if len(endpoint) != 1 or len(endpoint[0].split()) != 2 or len(cgi) != 1 \
                or len(handler) != 1:
            bad("endpoint, cgi-bin and handler are one item each")
            continue
        method, path = endpoint[0].split()
        sock = socket_for(path, locations)
        if sock is None:
            bad("no location of nginx.conf.example passes this path to a responder")
            continue
        if cgi[0] != f"cgi-bin/{sock}.c":
            bad(f"nginx sends it to {sock}.sock, the socket of cgi-bin/{sock}.c, not {cgi[0]}")
            continue
        program = read(cgi[0])
        methods = re.search(r'\.methods = "([^"]*)"', program).group(1).split()
        if method not in methods:
            bad(f"{cgi[0]} allows {methods}, not {method}")
        covered.add((cgi[0], method))
        if not re.search(rf"\.handle = {handler[0]},", program):
            bad(f"{cgi[0]} does not call {handler[0]}")
        where, reach = handler_files(handler[0])
        if where is None:
            bad(f"no file of lib/ defines {handler[0]}")
            continue
        missing = set(statements) - executed(reach)
        if missing:
            bad(f"{handler[0]} ({where}) does not execute {sorted(missing)}")
        called = []
        for st in statements:
            if st not in stmts:
                bad(f"lib/db.c has no statement {st}")
                continue
            called += ["cv." + f for f in re.findall(r"\bcv\.([a-z_]+)\(", stmts[st])]
        if sorted(set(called)) != sorted(set(functions)):
            bad(f"its statements call {sorted(set(called))}, the row says {functions}")
        want_files = sorted({defined.get(f[3:], f"(no file defines {f})") for f in functions})
        if sorted(set(files)) != want_files:
            bad(f"its functions are defined in {want_files}, the row says {files}")
    for path in sorted(glob.glob(os.path.join(ROOT, "cgi-bin", "*.c"))):
        cgi = os.path.relpath(path, ROOT)
        for method in re.search(r'\.methods = "([^"]*)"', read(cgi)).group(1).split():
            if (cgi, method) not in covered:
                wrong.append(f"no row for {method} of {cgi}")
    for _, pattern, sock in locations:
        if not any(c == f"cgi-bin/{sock}.c" for c, _ in covered):
            wrong.append(f"no row for the location {pattern} ({sock}.sock)")
    return wrong


def test_architecture_endpoint_table_matches_the_source_tree():
    found = problems(read("ARCHITECTURE.md"))
    assert not found, "ARCHITECTURE.md's endpoint table is wrong:\n" + "\n".join(found)
    assert len(table_rows(read("ARCHITECTURE.md"))) >= 16


def test_architecture_check_fails_on_a_wrong_row():
    text = read("ARCHITECTURE.md")
    send = "| `POST /api/v3/oauth/clients/contact-verification/send` | `cgi-bin/send.c` |"
    assert send in text
    mutations = [
        (send, send.replace("send.c", "verify.c")),                   # wrong program
        ("`cv_verification_send` | `CV_STMT_SEND`", "`cv_verification_verify` | `CV_STMT_SEND`"),
        ("`CV_STMT_SEND` | `cv.api_send`", "`CV_STMT_VERIFY` | `cv.api_send`"),
        ("`cv.api_send` | `api.sql`", "`cv.api_send` | `codes.sql`"),
        ("`POST /oauth/token`", "`GET /oauth/token`"),                 # method not allowed
        ("`GET /healthz`", "`GET /health`"),                           # no location
    ]
    for old, new in mutations:
        assert old in text, old
        assert problems(text.replace(old, new, 1)), f"no problem found after {old} -> {new}"
    dropped = re.sub(r"^\| `GET /login/\{public_id\}`.*\n", "", text, flags=re.M)
    assert any("no row for GET of cgi-bin/portal-page.c" in p for p in problems(dropped))
