"""``tuckaway import mastodon-bookmarks`` and ``tuckaway bookmarks``, run as a user runs them."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from support.hostproc import HostProcess, host_env, run_cli
from support.mastodon_standin import MastodonStandIn, Status
from support.pocket_standin import ACCESS_TOKEN as POCKET_TOKEN
from support.pocket_standin import CONSUMER_KEY as POCKET_KEY
from support.pocket_standin import PocketStandin
from tuckaway.cli.imports import Progress
from tuckaway.services.mastodon.importer import Report
from tuckaway.settings import Settings


@pytest.fixture
def env(mastodon_env: dict[str, str]) -> dict[str, str]:
    """Every test here runs with the stand-in's account linked."""
    return mastodon_env


def seed(standin: MastodonStandIn, count: int = 45) -> list[Status]:
    """``count`` bookmarked posts; every fifth shares a page (two share the same one)."""
    posts = []
    for n in range(count):
        card = None
        if n % 5 == 0:
            card = "https://news.example/same" if n in (0, 5) else f"https://news.example/{n}"
        posts.append(standin.add_status(f"post {n}", card_url=card))
    for post in posts:
        standin.bookmark(post.id)
    return posts


def expected_urls(standin: MastodonStandIn, posts: list[Status]) -> set[str]:
    return {standin.status_url(p) for p in posts} | {p.card_url for p in posts if p.card_url}


def listed(env: dict[str, str]) -> list[dict[str, object]]:
    done = run_cli(env, "list", "--json")
    assert done.returncode == 0, done.stderr
    items: list[dict[str, object]] = json.loads(done.stdout)
    return items


def outbox_saves(home: Path) -> list[tuple[str, float]]:
    conn = sqlite3.connect(Settings.load({"TUCKAWAY_HOME": str(home)}).paths.db_path)
    try:
        return list(conn.execute("SELECT url, created_at FROM outbox WHERE op = 'save'"))
    finally:
        conn.close()


def test_import_saves_every_bookmark_and_card_link_in_batches_and_twice_changes_nothing(
    env: dict[str, str], home: Path, standin: MastodonStandIn
) -> None:
    posts = seed(standin)
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 0, done.stderr
    want = expected_urls(standin, posts)
    assert len(want) == 45 + 8
    items = listed(env)
    assert {i["url"] for i in items} == want and len(items) == len(want)
    assert all(i["tags"] == ["mastodon"] for i in items)
    titled = {i["url"]: i["title"] for i in items}
    assert titled[standin.status_url(posts[3])] == "alice: post 3"
    saves = outbox_saves(home)
    assert len(saves) == len(want)
    # one burst per page of 40 bookmarks: the writes were recorded (and batched) together
    assert len({created for _, created in saves}) == 2
    assert "45 bookmark(s): 53 saved" in done.stdout

    again = run_cli(env, "import", "mastodon-bookmarks")
    assert again.returncode == 0, again.stderr
    assert "0 saved, 53 already in the list" in again.stdout
    assert len(listed(env)) == len(want)
    assert len(outbox_saves(home)) == len(want)


def test_private_and_direct_posts_are_imported_only_when_asked(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    kinds = ["public", "unlisted", "private", "direct"]
    posts = {
        kind: standin.add_status(f"a {kind} post", visibility=kind, card_url=f"https://{kind}.example/")
        for kind in kinds
    }  # fmt: skip
    for post in posts.values():
        standin.bookmark(post.id)

    dry = run_cli(env, "import", "mastodon-bookmarks", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "2 post(s) not public left out" in dry.stderr
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 0, done.stderr
    public = expected_urls(standin, [posts["public"], posts["unlisted"]])
    assert set(dry.stdout.split()) == public
    assert {i["url"] for i in listed(env)} == public
    assert "2 not public left out (--include-private imports them)" in done.stdout

    again = run_cli(env, "import", "mastodon-bookmarks", "--include-private")
    assert again.returncode == 0, again.stderr
    assert {i["url"] for i in listed(env)} == expected_urls(standin, list(posts.values()))
    assert "4 saved, 4 already in the list" in again.stdout and "not public" not in again.stdout


def test_import_follows_next_links_whatever_their_cursor_is_called(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    standin.cursor_param, standin.cursor_extra = "older_than", {"exclude": "reblogs"}
    posts = seed(standin)
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 0, done.stderr
    assert {i["url"] for i in listed(env)} == expected_urls(standin, posts)
    asked = [r.query for r in standin.requests_to("/api/v1/bookmarks")]
    assert len(asked) == 2 and asked[1]["exclude"] == "reblogs" and "older_than" in asked[1]


def test_import_into_pocket_batches_the_saves_and_twice_adds_nothing_again(
    env: dict[str, str], standin: MastodonStandIn, tmp_path: Path
) -> None:
    posts = seed(standin)
    with PocketStandin(tmp_path / "pocket") as pocket:
        env = {**env, "TUCKAWAY_POCKET_URL": pocket.url}
        linked = run_cli(
            env,
            "login",
            "pocket",
            "--access-token-stdin",
            "--consumer-key",
            POCKET_KEY,
            input=POCKET_TOKEN + "\n",
        )
        assert linked.returncode == 0, linked.stderr
        done = run_cli(env, "import", "mastodon-bookmarks")
        assert done.returncode == 0, done.stderr
        assert "45 bookmark(s): 53 saved" in done.stdout

        want = expected_urls(standin, posts)
        sends = pocket.sends()
        # 53 saves in two calls: one /v3/send per page of 40 bookmarks, no /v3/add
        assert [r.path for r in pocket.writes()] == ["/v3/send", "/v3/send"]
        added = [a["url"] for actions in sends for a in actions]
        assert all(a["action"] == "add" for actions in sends for a in actions)
        assert sorted(added) == sorted(want)  # each url once
        assert all(a["tags"] == "mastodon" for actions in sends for a in actions)

        again = run_cli(env, "import", "mastodon-bookmarks")
        assert again.returncode == 0, again.stderr
        assert "0 saved, 53 already in the list" in again.stdout
        assert len(pocket.writes()) == 2  # nothing sent the second time
        stored = pocket.items.query(state="all")
        assert sorted(i.url for i in stored) == sorted(want)


def test_import_of_an_archived_item_does_not_bring_it_back(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    post = standin.add_status("one")
    standin.bookmark(post.id)
    assert run_cli(env, "save", standin.status_url(post)).returncode == 0
    item_id = listed(env)[0]["item_id"]
    with HostProcess(env) as host:
        assert host.request({"id": 1, "op": "archive", "item_id": item_id})["ok"] is True
    run_cli(env, "import", "mastodon-bookmarks")
    done = run_cli(env, "list", "--archived", "--json")
    assert [i["item_id"] for i in json.loads(done.stdout)] == [item_id]


@pytest.mark.parametrize(
    ("reset_in", "retry_after"), [(None, 1), (1.5, None)], ids=["retry-after", "ratelimit-reset"]
)
def test_import_waits_out_a_rate_limited_page_then_finishes(
    env: dict[str, str], standin: MastodonStandIn, reset_in: float | None, retry_after: int | None
) -> None:
    posts = seed(standin)
    standin.rate_limit(path="/api/v1/bookmarks", skip=1, reset_in=reset_in, retry_after=retry_after)
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 0, done.stderr
    assert {i["url"] for i in listed(env)} == expected_urls(standin, posts)
    assert "page 2: Mastodon is rate limiting; waiting" in done.stderr
    assert "45 bookmark(s): 53 saved" in done.stdout
    assert len(standin.requests_to("/api/v1/bookmarks")) == 3


def test_import_retries_a_failing_page_with_backoff(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    posts = seed(standin, 6)
    standin.inject(503, times=2, path="/api/v1/bookmarks", headers={"Retry-After": "1"})
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 0, done.stderr
    assert {i["url"] for i in listed(env)} == expected_urls(standin, posts)
    waits = [line for line in done.stderr.splitlines() if "waiting" in line]
    assert len(waits) == 2 and all("Mastodon is failing (503)" in w for w in waits)
    assert "(retry 2 of 5)" in waits[1]


def test_interrupted_import_resumes_from_the_saved_cursor(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    posts = seed(standin)
    standin.inject(503, times=2, path="/api/v1/bookmarks", skip=1, headers={"Retry-After": "1"})
    failed = run_cli(env, "import", "mastodon-bookmarks", "--tag", "", "--retries", "1")
    assert failed.returncode == 1
    assert "run the import again to continue" in failed.stderr
    newest_page = posts[-40:]  # most recently bookmarked first
    assert {i["url"] for i in listed(env)} == expected_urls(standin, newest_page)
    first_run = len(standin.requests_to("/api/v1/bookmarks"))

    done = run_cli(env, "import", "mastodon-bookmarks", "--tag", "")
    assert done.returncode == 0, done.stderr
    resumed = standin.requests_to("/api/v1/bookmarks")[first_run]
    assert resumed.query["max_id"] == str(sorted(standin.bookmarks, reverse=True)[39])
    items = listed(env)
    assert {i["url"] for i in items} == expected_urls(standin, posts)
    assert all(i["tags"] == [] for i in items)


def test_dry_run_lists_what_would_be_saved_and_saves_nothing(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    posts = seed(standin, 6)
    done = run_cli(env, "import", "mastodon-bookmarks", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected_urls(standin, posts)
    assert listed(env) == []


def test_import_without_a_mastodon_account_says_so(home: Path) -> None:
    done = run_cli(host_env(home), "import", "mastodon-bookmarks")
    assert done.returncode == 1 and "no Mastodon account is linked" in done.stderr


def test_import_with_a_rejected_token_fails_clearly(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    seed(standin, 2)
    standin.tokens.clear()
    done = run_cli(env, "import", "mastodon-bookmarks")
    assert done.returncode == 1 and "sign in again" in done.stderr
    assert standin.access_token not in done.stderr + done.stdout


def test_bookmarks_command_lists_all_of_them(env: dict[str, str], standin: MastodonStandIn) -> None:
    posts = seed(standin)
    done = run_cli(env, "bookmarks", "--json")
    assert done.returncode == 0, done.stderr
    assert [s["id"] for s in json.loads(done.stdout)] == [p.id for p in reversed(posts)]
    text = run_cli(env, "bookmarks", "--limit", "3")
    assert text.returncode == 0, text.stderr
    assert "@alice" in text.stdout and "post 44" in text.stdout and "post 41" not in text.stdout


def test_bookmarks_command_without_an_account_is_not_linked(home: Path) -> None:
    done = run_cli(host_env(home), "bookmarks")
    assert done.returncode == 1 and "no mastodon account is linked" in done.stderr.lower()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise() -> None:
    report = Report(pages=2, bookmarks=80, saved=70, known=10)
    tty = _Tty()
    Progress(tty).update(report)
    Progress(tty).update(report, done=True)
    assert tty.getvalue().startswith("\r[") and tty.getvalue().endswith("\n")
    assert "80 bookmarks read, 70 saved, 10 already in the list" in tty.getvalue()
    plain = io.StringIO()
    Progress(plain).update(report)
    assert plain.getvalue() == "page 2: 80 bookmarks read, 70 saved, 10 already in the list\n"
