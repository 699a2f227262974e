"""The tuckaway command line, run as a user runs it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from support.hostproc import HOST_DIR, HostProcess, run_cli


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


def test_every_command_has_help(env: dict[str, str]) -> None:
    from tuckaway.cli.main import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        result = run_cli(env, name, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, name


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
    # issue 12: serve's command moves into cli/ with the serve part
    "serve/app.py": "serve's command, until it moves to cli/",
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
    assert all((PACKAGE / name).exists() for name in OUTPUT_EXCEPTIONS), "stale exception"


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
