"""The tuckaway command line, run as a user runs it."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.hostproc import HOST_DIR, HostProcess, run_cli
from support.pocket_standin import ACCESS_TOKEN as POCKET_TOKEN
from support.pocket_standin import CONSUMER_KEY as POCKET_KEY
from support.pocket_standin import PocketStandin


def test_save_then_list_is_the_quick_start(env: dict[str, str]) -> None:
    saved = run_cli(env, "save", "https://example.org/", "--tag", "demo")
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.startswith("saved https://example.org/ (item ")
    listed = run_cli(env, "list")
    assert "https://example.org/" in listed.stdout and "[demo]" in listed.stdout


def test_save_many_urls_from_stdin_in_one_batch(env: dict[str, str]) -> None:
    urls = "\n".join(f"https://example.org/{n}" for n in range(25))
    result = run_cli(env, "save", "-", "--json", input=urls)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["state"] for r in report] == ["saved"] * 25
    assert len({r["item_id"] for r in report}) == 25


def test_save_refuses_a_javascript_url_with_a_clear_message(env: dict[str, str]) -> None:
    result = run_cli(env, "save", "javascript:alert(1)")
    assert result.returncode == 2
    assert "only http and https" in result.stderr and "Traceback" not in result.stderr


def test_list_json_tags_and_filters(env: dict[str, str]) -> None:
    run_cli(env, "save", "https://a.example/", "--tag", "python", "--title", "A")
    run_cli(env, "save", "https://b.example/", "--tag", "rust")
    items = json.loads(run_cli(env, "list", "--json", "--tag", "python").stdout)
    assert [(i["url"], i["title"], i["tags"]) for i in items] == [
        ("https://a.example/", "A", ["python"])
    ]
    assert json.loads(run_cli(env, "tags", "--json").stdout) == ["python", "rust"]
    assert json.loads(run_cli(env, "tags", "--json", "py").stdout) == ["python"]
    assert json.loads(run_cli(env, "list", "--json", "--archived").stdout) == []


def test_status_shows_backend_accounts_queue_and_paths(env: dict[str, str], home: Path) -> None:
    info = json.loads(run_cli(env, "status", "--json").stdout)
    assert info["backend"] == "local"
    assert info["paths"]["database"] == str(home / "data" / "tuckaway.db")
    assert info["accounts"]["pocket"]["linked"] is False
    assert "backend:   local" in run_cli(env, "status").stdout


def test_schema_is_json_schema_of_the_protocol(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert run_cli(env, "schema", "--out", str(out)).returncode == 0
    schema = json.loads(out.read_text())
    assert schema["protocol"] == 1 and "request" in schema["properties"]
    assert json.loads(run_cli(env, "schema").stdout) == schema


def test_queue_shows_failed_writes_and_drop_forgets_them(env: dict[str, str]) -> None:
    with HostProcess(env) as host:
        reply = host.request({"id": 1, "op": "archive", "url": "https://nowhere.example/"})
        assert reply["error"]["code"] == "unknown_item"
    queue = json.loads(run_cli(env, "queue", "--json").stdout)
    assert [(e["op"], e["state"]) for e in queue] == [("archive", "failed")]
    assert queue[0]["last_error"]["code"] == "unknown_item"
    assert "failed" in run_cli(env, "queue").stdout
    dropped = run_cli(env, "queue", "drop", str(queue[0]["id"]))
    assert dropped.returncode == 0
    assert "the queue is empty" in run_cli(env, "queue").stdout
    assert run_cli(env, "queue", "drop", "999").returncode == 1


@pytest.mark.timeout(600)  # one CLI process per case: slow on a loaded machine
def test_every_command_has_help(env: dict[str, str]) -> None:
    from tuckaway.cli.main import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        result = run_cli(env, name, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, name


def test_each_command_module_adds_the_commands_main_routes_to_it() -> None:
    import argparse
    import importlib

    from tuckaway.cli.main import _COMMANDS

    for module, names in _COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"tuckaway.cli.{module}").add_commands(sub)
        assert sorted(sub.choices) == sorted(names), module


def test_a_queue_command_loads_neither_aiohttp_nor_the_other_commands(
    env: dict[str, str],
) -> None:
    code = (
        "import sys; from tuckaway.cli.main import main; status = main(['queue', '--json']); "
        "print(sorted(m for m in ('aiohttp', 'tuckaway.cli.accounts', 'tuckaway.cli.serve') "
        "if m in sys.modules), status)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[] 0"


def test_a_bad_config_file_is_one_clear_line(env: dict[str, str], home: Path) -> None:
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text("batch_quiet_ms = 'soon'\n")
    result = run_cli(env, "status")
    assert result.returncode == 2
    assert "batch_quiet_ms" in result.stderr and "Traceback" not in result.stderr


def test_http_service_urls_are_refused_except_on_loopback(env: dict[str, str]) -> None:
    bad = run_cli({**env, "TUCKAWAY_POCKET_URL": "http://pocket.example.com"}, "status")
    assert bad.returncode == 2 and "https" in bad.stderr
    ok = run_cli({**env, "TUCKAWAY_POCKET_URL": "http://127.0.0.1:9"}, "status")
    assert ok.returncode == 0, ok.stderr


def test_http_service_urls_that_only_look_local_are_refused(env: dict[str, str]) -> None:
    for url in ("http://127.evil.example", "http://127.0.0.1.nip.io:8080",
                "http://localhost.evil.com"):
        bad = run_cli({**env, "TUCKAWAY_POCKET_URL": url}, "status")
        assert bad.returncode == 2 and "https" in bad.stderr, url
        assert "Traceback" not in bad.stderr


def test_http_service_urls_on_any_loopback_address_are_accepted(env: dict[str, str]) -> None:
    for url in ("http://127.0.0.1:9", "http://127.5.5.5:9", "http://[::1]:9",
                "http://localhost:9"):
        ok = run_cli({**env, "TUCKAWAY_POCKET_URL": url}, "status")
        assert ok.returncode == 0, (url, ok.stderr)


PACKAGE = HOST_DIR / "tuckaway"
#: Modules outside cli/ allowed to touch stdout or stderr, and why (reviewed).
OUTPUT_EXCEPTIONS = {
    # the fd guard: fd 1 belongs to frames, so stdout is pointed at stderr; and the
    # few lines the host can say before there is a log file or a port
    "wire/host.py": "the host's stdout guard and its pre-log refusals",
    # a log handler on the stream the entry point asked for (-v), or the fallback
    # when the log file cannot be opened: logging, not printing
    "logs.py": "the -v log handler and the log file's fallback",
}


def _writes_to_the_terminal(tree: ast.AST) -> list[int]:
    """Lines that call print() or name sys.stdout / sys.stderr (or import them from sys)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "print":
                lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr"):
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            if {a.name for a in node.names} & {"stdout", "stderr", "__stdout__", "__stderr__"}:
                lines.append(node.lineno)
    return sorted(lines)


def test_no_module_outside_the_cli_writes_to_stdout_or_stderr() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("cli/") or name in OUTPUT_EXCEPTIONS:
            continue
        lines = _writes_to_the_terminal(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[name] = lines
    assert found == {}, "the library returns data; only tuckaway/cli/ prints"
    stale = [
        name
        for name in OUTPUT_EXCEPTIONS
        if not (PACKAGE / name).exists()
        or not _writes_to_the_terminal(ast.parse((PACKAGE / name).read_text(encoding="utf-8")))
    ]
    assert stale == [], "these no longer write to the terminal: drop them from the exceptions"


def test_the_check_sees_every_way_of_writing_to_the_terminal() -> None:
    source = textwrap.dedent("""
        import sys
        from sys import stderr
        print("a")
        sys.stdout.write("b")
        log = sys.stderr
    """)
    assert _writes_to_the_terminal(ast.parse(source)) == [3, 4, 5, 6]


_LIBRARY_AT_WORK = """
import asyncio, sys
from tuckaway import logs
from tuckaway.context import Context
from tuckaway.delivery.batcher import submit
from tuckaway.settings import Settings

settings = Settings.load()
logs.setup(settings.paths.log_file, "DEBUG")  # as both entry points do
ctx = Context.open(settings)
writes = [("save", {"url": "https://a.example/", "tags": ["x"]}),
          ("archive", {"url": "https://nowhere.example/"})]
finals = asyncio.run(submit(ctx, writes, 30))
assert finals[0].error is None and finals[1].error.code == "unknown_item", finals
assert [i.url for i in ctx.store.items("local").query(state="all")] == ["https://a.example/"]
assert ctx.outbox.entries() and ctx.accounts()["pocket"]["linked"] is False
"""


def test_the_library_at_work_writes_nothing_to_the_terminal(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LIBRARY_AT_WORK],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


# -- the commands that change the list (issue 15) ---------------------------------------


def _listed(env: dict[str, str]) -> dict[str, dict[str, object]]:
    result = run_cli(env, "list", "--all", "--json")
    assert result.returncode == 0, result.stderr
    return {i["url"]: i for i in json.loads(result.stdout)}


@pytest.mark.timeout(600)  # one CLI process per case: slow on a loaded machine
def test_item_and_tag_commands_change_the_local_list(env: dict[str, str], home: Path) -> None:
    assert run_cli(env, "save", "https://a.example/", "https://b.example/").returncode == 0
    for args in (
        ("archive", "https://a.example/"),
        ("favorite", "https://a.example/", "https://b.example/"),
        ("unfavorite", "https://b.example/"),
        ("tag", "add", "https://b.example/", "one", "two"),
        ("tag", "rename", "one", "uno"),
    ):
        done = run_cli(env, *args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr)
    assert "archived https://a.example/" in run_cli(env, "archive", "https://a.example/").stdout
    items = _listed(env)
    a, b = items["https://a.example/"], items["https://b.example/"]
    assert (a["status"], a["favorite"], b["status"], b["favorite"]) == (
        "archived", True, "unread", False
    )
    assert b["tags"] == ["two", "uno"]

    by_number = run_cli(env, "readd", str(a["item_id"]))
    assert by_number.stdout.strip() == f"re-added item {a['item_id']}"
    assert run_cli(env, "tag", "remove", "https://b.example/", "two").returncode == 0
    assert run_cli(env, "tag", "replace", "https://a.example/", "x", "y").returncode == 0
    assert run_cli(env, "tag", "delete", "x").returncode == 0
    items = _listed(env)
    assert items["https://a.example/"]["status"] == "unread"
    assert (items["https://a.example/"]["tags"], items["https://b.example/"]["tags"]) == (
        ["y"], ["uno"]
    )
    cleared = run_cli(env, "tag", "clear", "https://a.example/", "-", input="https://b.example/\n")
    assert cleared.returncode == 0, cleared.stderr
    assert [i["tags"] for i in _listed(env).values()] == [[], []]
    assert run_cli(env, "delete", "https://b.example/").returncode == 0
    assert list(_listed(env)) == ["https://a.example/"]
    # every one of them went through the outbox, as the extension's writes do
    with sqlite3.connect(home / "data" / "tuckaway.db") as conn:
        ops = {op for (op,) in conn.execute("SELECT op FROM outbox")}
    assert ops >= {"archive", "readd", "favorite", "unfavorite", "delete", "tags_add",
                   "tags_remove", "tags_replace", "tags_clear", "tag_rename", "tag_delete"}


def test_an_item_command_on_an_unknown_url_fails_alone(env: dict[str, str]) -> None:
    run_cli(env, "save", "https://a.example/")
    result = run_cli(env, "archive", "https://nowhere.example/", "https://a.example/", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [(r["url"], r["state"]) for r in report] == [
        ("https://nowhere.example/", "failed"), ("https://a.example/", "done")
    ]
    assert report[0]["code"] == "unknown_item"
    plain = run_cli(env, "favorite", "https://nowhere.example/")
    assert plain.returncode == 1 and "failed https://nowhere.example/: " in plain.stderr


def test_item_commands_reach_pocket_as_one_send(env: dict[str, str], tmp_path: Path) -> None:
    with PocketStandin(tmp_path / "pocket") as pocket:
        env = {**env, "TUCKAWAY_POCKET_URL": pocket.url}
        linked = run_cli(env, "login", "pocket", "--access-token-stdin",
                         "--consumer-key", POCKET_KEY, input=POCKET_TOKEN + "\n")
        assert linked.returncode == 0, linked.stderr
        assert run_cli(env, "save", "https://a.example/", "https://b.example/").returncode == 0
        archived = run_cli(env, "archive", "https://a.example/", "https://b.example/")
        assert archived.returncode == 0, archived.stderr
        tagged = run_cli(env, "tag", "add", "https://a.example/", "later")
        assert tagged.returncode == 0, tagged.stderr
        sends = pocket.sends()
        assert [[a["action"] for a in actions] for actions in sends] == [
            ["add", "add"], ["archive", "archive"], ["tags_add"]
        ]
        assert sends[2][0]["tags"] == "later"


# -- bad input, closed pipes, broken files (issue 15, item 10) ---------------------------


def test_list_into_a_closed_pipe_ends_quietly(env: dict[str, str]) -> None:
    run_cli(env, "save", "https://a.example/")
    proc = subprocess.Popen([sys.executable, "-m", "tuckaway.cli", "list"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""


def test_list_piped_into_head_prints_one_line_and_no_error(env: dict[str, str]) -> None:
    run_cli(env, "save", *(f"https://example.org/{n}" for n in range(300)))
    shell = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m tuckaway.cli list | head -1"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert len(shell.stdout.splitlines()) == 1 and shell.stderr == ""


def test_verbose_goes_before_or_after_the_command(env: dict[str, str]) -> None:
    for args in (("-vv", "list"), ("list", "-vv"), ("tag", "rename", "a", "b", "-vv")):
        result = run_cli(env, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "DEBUG" in result.stderr, args


def test_save_reads_stdin_where_the_dash_stands(env: dict[str, str]) -> None:
    result = run_cli(env, "save", "https://a.example/", "-", "https://c.example/", "--json",
                     input="\nhttps://b.example/\n")
    assert result.returncode == 0, result.stderr
    assert [r["url"] for r in json.loads(result.stdout)] == [
        "https://a.example/", "https://b.example/", "https://c.example/"
    ]


def test_save_from_empty_stdin_says_so(env: dict[str, str]) -> None:
    result = run_cli(env, "save", "-", input="")
    assert result.returncode == 2
    assert result.stderr == "tuckaway: '-' reads URLs from stdin, one a line, but stdin was empty\n"


def test_bad_stdin_lines_are_named_and_nothing_is_saved(env: dict[str, str]) -> None:
    result = run_cli(env, "save", "-", input="https://a.example/\njavascript:x\n\nftp://f/\n")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tuckaway: stdin line 2: javascript:x: only http and https pages can be saved "
        "(scheme: javascript)",
        "tuckaway: stdin line 4: ftp://f/: only http and https pages can be saved (scheme: ftp)",
        "tuckaway: nothing was written",
    ]
    assert _listed(env) == {}


@pytest.mark.timeout(600)  # one CLI process per case: slow on a loaded machine
def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    for args in (
        ("nonsense",),
        ("save",),
        ("save", "--frobnicate", "https://a.example/"),
        ("save", "https://a.example/", "https://b.example/", "--title", "T"),
        ("save", "https://a.example/", "--tag", "a,b"),
        ("list", "--limit", "0"),
        ("list", "--archived", "--all"),
        ("queue", "drop", "x"),
        ("tag", "add", "https://a.example/"),
        ("tag", "frob"),
        ("login", "mastodon"),
        ("serve", "--port", "70000"),
        ("serve", "--port", "-1"),
        ("schema", "--out", "/nonexistent/x"),
    ):
        result = run_cli(env, *args)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert result.stderr.strip() and "Traceback" not in result.stderr, args


def test_serve_on_a_port_that_cannot_be_is_one_clear_line(env: dict[str, str]) -> None:
    result = run_cli(env, "serve", "--port", "70000")
    assert "70000 is not a port: use 1-65535, or 0 for any" in result.stderr


def test_schema_into_a_missing_directory_is_one_clear_line(env: dict[str, str]) -> None:
    result = run_cli(env, "schema", "--out", "/nonexistent/x")
    assert result.stderr == "tuckaway: cannot write /nonexistent/x: No such file or directory\n"


def test_an_unusable_home_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a file where the directory should be: even root cannot
    result = run_cli({**env, "TUCKAWAY_HOME": str(blocker)}, "list")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"tuckaway: cannot create {blocker}")
    assert f"TUCKAWAY_HOME ({blocker}) must be a directory you can write to" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_an_empty_list_names_the_filters_that_found_nothing(env: dict[str, str]) -> None:
    assert run_cli(env, "list").stdout == "nothing saved yet\n"
    run_cli(env, "save", "https://a.example/")
    assert run_cli(env, "list", "--favorite").stdout == "no unread favorites\n"
    assert run_cli(env, "list", "--all", "--tag", "x").stdout == "no items tagged 'x'\n"
    assert run_cli(env, "list", "--archived").stdout == "no archived items\n"
    run_cli(env, "archive", "https://a.example/")
    assert run_cli(env, "list").stdout.startswith("nothing unread (")


def test_a_typo_in_config_toml_is_one_clear_line(env: dict[str, str], home: Path) -> None:
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text('log_level = "LOUD"\n')
    result = run_cli(env, "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR" in result.stderr


def test_a_damaged_database_is_named_with_what_to_do(env: dict[str, str], home: Path) -> None:
    (home / "data").mkdir(parents=True)
    (home / "data" / "tuckaway.db").write_bytes(b"not a database" * 512)
    for command in ("list", "status", "queue"):
        result = run_cli(env, command)
        assert result.returncode == 1 and "Traceback" not in result.stderr, command
        assert result.stderr.startswith(
            f"tuckaway: the database {home / 'data' / 'tuckaway.db'} is damaged"
        ), command
        assert "Keep a copy of it" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_files_are_0600_and_directories_0700_whatever_the_umask(
    env: dict[str, str], home: Path
) -> None:
    old = os.umask(0o022)
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / "data").mkdir(mode=0o755)  # made earlier by something else: tightened
        assert run_cli(env, "save", "https://a.example/").returncode == 0
        with HostProcess(env) as proc:
            assert proc.request({"id": 1, "op": "settings_set", "batch_quiet_ms": 200})["ok"]
    finally:
        os.umask(old)
    for d in ("config", "data", "state", "state/log"):
        assert (home / d).stat().st_mode & 0o777 == 0o700, d
    files = [home / "config" / "config.toml", home / "state" / "log" / "tuckaway.log"]
    files += sorted((home / "data").glob("tuckaway.db*"))
    assert len(files) >= 3
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600, f


def _damage_a_late_page(db_path: Path) -> None:
    """Overwrite one page near the end (the outbox's last rows) with garbage."""
    size = db_path.stat().st_size
    with db_path.open("r+b") as f:
        f.seek(size - 4096 * 3)
        f.write(b"\xff" * 4096)


def test_doctor_finds_damage_and_repair_keeps_a_copy_and_says_what_was_lost(
    env: dict[str, str], home: Path
) -> None:
    urls = "".join(f"https://e{n}.example/p/{'x' * 200}\n" for n in range(300))
    assert run_cli(env, "save", "-", input=urls).returncode == 0
    db_path = home / "data" / "tuckaway.db"
    assert run_cli(env, "repair").stdout == f"the database {db_path} is sound: nothing to repair\n"
    _damage_a_late_page(db_path)
    doctor = run_cli(env, "doctor")
    assert f"the database {db_path} is damaged" in doctor.stdout
    assert "fix: tuckaway repair" in doctor.stdout
    repair = run_cli(env, "repair")
    assert repair.returncode == 0 and "Traceback" not in repair.stderr, repair.stderr
    copies = list((home / "data").glob("tuckaway.db.damaged-*"))
    assert len(copies) == 1 and f"kept at {copies[0]}" in repair.stdout
    assert copies[0].read_bytes()[:16] == b"SQLite format 3\x00"
    assert "lost: " in repair.stdout and "usable again" in repair.stdout
    assert "row(s) of items\n" in repair.stdout
    listed = run_cli(env, "list", "--all")
    assert listed.returncode == 0 and 0 < len(listed.stdout.splitlines()) <= 300
    assert "damaged" not in run_cli(env, "doctor").stdout
    repaired = sqlite3.connect(db_path)
    counted = "SELECT ns, status, favorite, count(*) FROM items GROUP BY 1, 2, 3"
    kept = "SELECT ns, status, favorite, n FROM item_counts WHERE n > 0 ORDER BY 1, 2, 3"
    assert repaired.execute(kept).fetchall() == repaired.execute(counted).fetchall()


def test_repair_of_a_file_that_is_not_a_database_starts_afresh(
    env: dict[str, str], home: Path
) -> None:
    (home / "data").mkdir(parents=True)
    (home / "data" / "tuckaway.db").write_bytes(b"not a database" * 512)
    repair = run_cli(env, "repair")
    assert repair.returncode == 0 and "lost: everything: nothing could be read" in repair.stdout
    assert run_cli(env, "list").stdout == "nothing saved yet\n"


def test_the_host_answers_hello_with_a_damaged_database(env: dict[str, str], home: Path) -> None:
    (home / "data").mkdir(parents=True)
    db_path = home / "data" / "tuckaway.db"
    db_path.write_bytes(b"not a database" * 512)
    with HostProcess(env) as proc:
        hello = proc.request({"id": 1, "op": "hello"})
    assert hello["ok"] is True and hello["result"]["pending"] == 0
    [problem] = hello["result"]["problems"]
    assert problem["kind"] == "database" and problem["file"] == str(db_path)
    assert "tuckaway repair" in problem["text"]
