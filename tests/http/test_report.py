"""The compliance review pack, made as the README says: the demo's three citizens stored, a
checkpoint signed, ``firmaio report`` written; then read as a reviewer would, in text and in a
real browser (Debian's chromium, driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from firmaio.adapters.cli import DEMO_CITIZENS, main
from firmaio.fsm import State
from firmaio.fsm.diagrams.views import overview
from firmaio.fsm.machine.table import BASIS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.http.conftest import Chromium, DemoRun

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-demo-secret-held-outside-the-database-0123456789"
PATH_COLOUR = "rgb(217, 72, 15)"
"""The highlighted path's colour (``--path`` in report.css)."""


@dataclass(frozen=True)
class Made:
    db: str
    report: Path
    ids: list[str]
    demo_output: str
    key: Path
    checkpoint: str


EN = ("--lang", "en")
"""The report in English: these tests read its English words."""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, demo_run: DemoRun) -> Made:
    """`make report`'s steps: the demo into a store (once a session), a checkpoint, the
    report."""
    work = tmp_path_factory.mktemp("report")
    db, ids, shown = demo_run.db, demo_run.ids, demo_run.output
    key = work / "checkpoint.key"
    key.write_text(SECRET)
    key.chmod(0o600)
    checkpoint = str(work / "checkpoint.json")
    verified = _run("audit", "verify", "--db", db, "--key-file", str(key),
                    "--write-checkpoint", checkpoint)  # fmt: skip
    assert verified[0] == 0, verified[1]
    report = work / "out" / "report.html"
    code, written = _run("report", *EN, "--db", db, "--key-file", str(key), "--checkpoint",
                         checkpoint, "--out", str(report))  # fmt: skip
    assert code == 0, written
    assert f"report written: {report}" in written
    return Made(db, report, ids, shown, key, checkpoint)


def test_the_demo_shows_every_event_a_local_receiver_got_verified(made: Made) -> None:
    """`make demo`: the flows' events, delivered signed to a receiver on loopback that verified
    each, every one of the store's, each flow's in order."""
    with sqlite3.connect(made.db) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT flow_id) FROM events").fetchone()
        statuses = {row[0] for row in conn.execute("SELECT DISTINCT status FROM events")}
    assert statuses == {"delivered"}
    line = f"each signature verified: {stored[0]} ({stored[1]} flows, each in order)"
    assert line in made.demo_output
    for flow_id in made.ids:
        assert f"flow {flow_id}: " in made.demo_output.split(line, 1)[1]


def _section(html: str, flow_id: str) -> str:
    start = html.index(f'<section class="flow" id="flow-{flow_id}"')
    return html[start : html.index("</section>", start)]


def test_each_demo_citizen_has_a_highlighted_path_a_timed_trail_and_a_verified_chain(
    made: Made,
) -> None:
    html = made.report.read_text()
    assert "Every hash chain is intact" in html
    assert "The checkpoint holds" in html
    for flow_id in made.ids:
        section = _section(html, flow_id)
        assert re.search(r'class="[^"]*\btaken\b', section), "no highlighted edge"
        assert re.search(r'class="[^"]*\bvisited\b', section), "no highlighted state"
        assert 'Hash chain: <span class="ok">intact</span>' in section
        assert "matches the checkpoint" in section
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", section), "no UTC time"
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", section), "no Rome time"
        assert "HTTP 200" in section
        assert "firmaio-demo" in section  # the actor
        assert BASIS["page.wait"].text.split("`")[0].strip() in section
    refused = _section(html, made.ids[1])
    assert "guard <code>citizen_disabled_messages</code> held" in refused
    assert "It is not allowed to send a message to this user." in refused
    assert "the citizen turned off messages from Firma con IO" in refused
    notified = _section(html, made.ids[0])
    assert re.search(r"io_message_id <code>\w+</code>", notified)
    assert "guard <code>message_was_sent</code> held" in notified


def test_the_report_holds_no_fiscal_code_and_no_key(made: Made) -> None:
    html = made.report.read_text()
    for _title, fiscal_code, _settings in DEMO_CITIZENS:
        assert fiscal_code not in html
    assert not re.search(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]", html)
    assert SECRET not in html
    assert "sandbox-key" not in html


def test_the_report_fetches_nothing(made: Made) -> None:
    """No external script, stylesheet, font or image: everything is inline."""
    html = made.report.read_text()
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)=\"(?!#)", html)
    assert "@import" not in html
    assert "url(" not in html


def test_a_report_of_chosen_flows_shows_only_them(made: Made, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    code, _ = _run("report", *EN, made.ids[2], "--db", made.db, "--out", str(out))
    assert code == 0
    html = out.read_text()
    assert f'id="flow-{made.ids[2]}"' in html
    assert f'id="flow-{made.ids[0]}"' not in html
    assert "No checkpoint given" in html


def test_a_flow_adds_what_the_manual_says_to_one_file(made: Made, tmp_path: Path) -> None:
    """docs/report.md's size of a flow in one file, as `make report` writes it: what a second
    and a third demo flow (each from a PDF) add to the file of the first."""
    said = re.search(r"about (\d+) kB a flow from a PDF", (ROOT / "docs" / "report.md").read_text())
    assert said, "docs/report.md no longer says how much a flow adds"
    sizes = []
    for count in (1, 3):
        out = tmp_path / f"{count}.html"
        assert _run("report", *made.ids[:count], "--db", made.db, "--out", str(out))[0] == 0
        sizes.append(out.stat().st_size)
    per_flow = (sizes[1] - sizes[0]) / 2 / 1000
    assert abs(per_flow - int(said[1])) <= 0.15 * int(said[1]), f"{per_flow:.1f} kB a flow"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--db", "{tmp}/missing.sqlite"], 6, "no store at"),
        (["01BX5ZZKBKACTAV9WEVGEMMVRZ", "--db", "{db}"], 2, "no flow '01BX5ZZKBKACTAV9WEVGEMMVRZ'"),
        (["--db", "{db}", "--checkpoint", "{tmp}/none.json", "--key-file", "{tmp}/k"], 2, "key"),
    ],
)
def test_bad_input_names_what_was_wrong_and_writes_nothing(
    made: Made,
    tmp_path: Path,
    argv: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "report.html"
    filled = [a.format(tmp=tmp_path, db=made.db) for a in argv]
    assert _run("report", *EN, *filled, "--out", str(out))[0] == code
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "missing.sqlite").exists()


def _links(page: Path) -> list[Path]:
    """The pages ``page`` links to (relative paths, the only links a folder's pages have)."""
    html = page.read_text()
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    hrefs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(not re.match(r"[a-z]+:|/", href) for href in hrefs), hrefs
    pages = {href.split("#")[0] for href in hrefs if not href.startswith("#")}  # a link to a
    return [(page.parent / href).resolve() for href in sorted(pages)]  # section: to its page


def test_a_folder_report_is_a_summary_list_pages_and_a_page_per_flow(
    made: Made, tmp_path: Path
) -> None:
    """``--out DIR``: the summary says what the one file says of the store, and its digest is
    the one ``audit verify`` prints; each flow's page shows what its section shows."""
    folder = tmp_path / "review"
    code, shown = _run("report", *EN, "--db", made.db, "--key-file", str(made.key), "--checkpoint",
                       made.checkpoint, "--out", str(folder))  # fmt: skip
    assert (code, shown.split(" (")[0]) == (0, f"report written: {folder / 'index.html'}")
    index = (folder / "index.html").read_text()
    digest = _run("audit", "verify", "--db", made.db)[1].split("digest of all heads: ")[1]
    assert f'<code id="digest">{digest.strip()}</code>' in index
    assert "Every hash chain is intact" in index
    assert "The checkpoint holds" in index
    assert '<td><code>(the default)</code></td><td class="n">3</td>' in index  # by tenant
    summary = index.split('<h3 id="notes">')[0]  # the API notes the bases cite come after
    assert "It is not allowed to send a message to this user." not in summary
    assert "the citizen turned off messages from Firma con IO" in index  # refusals
    one = made.report.read_text()
    for flow_id in made.ids:
        page = (folder / "flows" / f"{flow_id}.html").read_text()
        own = _section(page, flow_id).replace("f1-", "").replace("../index.html#notes", "#notes")
        assert own == _section(one, flow_id).replace(f"f{made.ids.index(flow_id) + 1}-", "")
    assert sorted(p.stem for p in (folder / "flows").iterdir()) == sorted(made.ids)


LISTS = ("list-1.html", "list-2.html")


def test_a_folder_report_links_every_page_both_ways(made: Made, tmp_path: Path) -> None:
    """Two flows a list page: the summary links both list pages, each the previous and next
    and its flows' pages, each flow's page its list page and the summary; every link
    resolves to a page written, and every page written is linked."""
    from firmaio.adapters.report import write_folder
    from firmaio.adapters.store import open_async_store

    async def write() -> None:
        store = open_async_store(made.db)
        try:
            await write_folder(store, tmp_path, label="demo", page=2)
        finally:
            await store.close()

    asyncio.run(write())
    pages = {p.resolve() for p in tmp_path.rglob("*.html")}
    linked = {target: _links(target) for target in pages}
    assert all(set(targets) <= pages for targets in linked.values())
    index, first, second = [
        (tmp_path / f"{n}.html").resolve() for n in ("index", "list-1", "list-2")
    ]
    assert {first, second} <= set(linked[index])
    assert second in linked[first]
    assert first in linked[second]
    assert (tmp_path / "list-3.html").exists() is False
    flows = sorted(made.ids)
    for n, listed in ((first, flows[:2]), (second, flows[2:])):
        pages_of = [(tmp_path / "flows" / f"{i}.html").resolve() for i in listed]
        assert [p for p in linked[n] if p.parent.name == "flows"] == pages_of
        for page in pages_of:
            assert {index, n} <= set(linked[page])
    assert set().union(*map(set, linked.values())) | {index} == pages


def test_a_flow_id_that_is_no_file_name_never_names_a_path(made: Made, tmp_path: Path) -> None:
    """A row written into the database by hand with the id ``../../escaped`` gets a page named
    by its id's hash, inside the folder, linked from its list page; nothing is written outside."""
    db = tmp_path / "flows.sqlite"
    shutil.copy(made.db, db)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at, "
            "updated_at) VALUES ('../../escaped', 'READY', 0, 'x', 0, 0, 0)"
        )
    folder = tmp_path / "a" / "b" / "review"
    assert _run("report", *EN, "--db", str(db), "--out", str(folder))[0] == 20  # its head is wrong
    assert not (tmp_path / "a" / "escaped.html").exists()
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*.html")}
    assert all(p.parts[:3] == ("a", "b", "review") for p in written)
    [odd] = [p for p in (folder / "flows").iterdir() if p.stem.startswith("id-")]
    assert "../../escaped" in odd.read_text()
    assert f'href="flows/{odd.name}"' in (folder / "list-1.html").read_text()


def test_one_file_is_refused_for_a_store_larger_than_it_shows(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("firmaio.adapters.report.ONE_FILE", 2)
    out = tmp_path / "report.html"
    assert _run("report", *EN, "--db", made.db, "--out", str(out))[0] == 2
    err = capsys.readouterr().err
    assert "more than 2 flows" in err
    assert "name a folder (--out DIR)" in err
    assert not out.exists()
    assert _run("report", *EN, made.ids[0], "--db", made.db, "--out", str(out))[0] == 0


def test_audit_show_prints_iso_times_and_json(made: Made) -> None:
    flow_id = made.ids[1]
    code, shown = _run("audit", "show", flow_id, "--db", made.db)
    assert code == 0
    assert re.search(r"#1 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00  hash ", shown)
    assert "by firmaio-demo" in shown
    code, shown = _run("audit", "show", flow_id, "--db", made.db, "--json")
    document = json.loads(shown)
    assert (code, document["exit_code"], document["flow"]["state"]) == (0, 0, "FALLBACK_SUGGESTED")
    records = document["flow"]["records"]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(r["decided_at"].endswith("+00:00") for r in records)
    assert all(len(r["hash"]) == 64 for r in records)
    assert records[-1]["target"] == "FALLBACK_SUGGESTED"
    code, shown = _run("audit", "show", "01BX5ZZKBKACTAV9WEVGEMMVRZ", "--db", made.db, "--json")
    assert (code, json.loads(shown)["failure"]["kind"]) == (2, "usage")


def test_stored_chains_from_before_actors_still_verify(made: Made, tmp_path: Path) -> None:
    """A store whose records carry no actor (written before actors existed) verifies as ever."""
    copy = tmp_path / "old.sqlite"
    shutil.copy(made.db, copy)
    with sqlite3.connect(copy) as connection:
        payloads = connection.execute("SELECT payload FROM audit_records").fetchall()
    assert all('"actor":"firmaio-demo"' in p for (p,) in payloads)
    assert _run("audit", "verify", "--db", str(copy))[0] == 0


# -- in a real browser --------------------------------------------------------------------------


def test_the_report_renders_in_chromium_and_fetches_nothing(made: Made, chromium: Chromium) -> None:
    """Opened in headless Chromium: every flow's diagram is drawn, the path's edges are styled
    in the path's colour, every state of the table is on the page, nothing but the file itself
    is requested, and it prints to PDF. A screenshot is saved under out/."""
    from playwright.sync_api import Route

    url = made.report.resolve().as_uri()
    requests: list[str] = []

    def record(route: Route) -> None:
        requests.append(route.request.url)
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    def work(browser: Browser) -> None:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            page.route("**/*", record)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="load")
            diagrams = page.locator("section.flow svg.machine")
            assert diagrams.count() == len(made.ids)
            for index in range(1, len(made.ids) + 1):
                for element_id in overview().ids:
                    assert page.locator(f"#f{index}-{element_id}").count() == 1, element_id
            strokes = page.eval_on_selector_all(
                "svg.machine g.edge.taken path", "els => els.map(e => getComputedStyle(e).stroke)"
            )
            assert strokes
            assert set(strokes) == {PATH_COLOUR}
            others = page.eval_on_selector_all(
                "svg.machine g.edge:not(.taken) path",
                "els => els.map(e => getComputedStyle(e).stroke)",
            )
            assert PATH_COLOUR not in others
            box = page.locator("#machine svg.machine").bounding_box()  # the overview, once
            assert box is not None
            assert box["width"] > 600
            assert page.locator("section.flow svg.path-diagram").count() == len(made.ids)
            text = page.inner_text("body")
            for state in State:
                assert str(state) in text, state
            out = ROOT / "out"
            out.mkdir(exist_ok=True)
            page.screenshot(path=str(out / "report-screenshot.png"), full_page=True)
            pdf = page.pdf(format="A4", print_background=True)
            assert pdf.startswith(b"%PDF")
        finally:
            context.close()

    chromium.run(work)
    assert set(requests) == {url}, f"the report fetched {sorted(set(requests) - {url})}"
    assert (ROOT / "out" / "report-screenshot.png").stat().st_size > 10_000


def test_a_folder_report_is_browsed_from_its_summary_to_a_flow(
    made: Made, chromium: Chromium, tmp_path: Path
) -> None:
    """In Chromium: the summary draws the machine, its list page links lead to a flow's page,
    whose path is drawn in the path's colour; nothing outside the folder is requested."""
    folder = tmp_path / "review"
    assert _run("report", *EN, "--db", made.db, "--out", str(folder))[0] == 0
    requests: list[str] = []

    def work(browser: Browser) -> tuple[str, list[str]]:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto((folder / "index.html").as_uri(), wait_until="load")
            assert page.locator("#machine svg.machine").count() == 1
            page.click("#lists a")
            page.click("#flow-list a >> nth=1")
            page.wait_for_load_state("load")
            strokes = page.eval_on_selector_all(
                "svg.machine g.edge.taken path", "els => els.map(e => getComputedStyle(e).stroke)"
            )
            return page.url, strokes
        finally:
            context.close()

    url, strokes = chromium.run(work)
    assert url == (folder / "flows" / f"{sorted(made.ids)[1]}.html").as_uri()
    assert strokes
    assert set(strokes) == {PATH_COLOUR}
    assert all(r.startswith(folder.as_uri()) for r in requests), requests


def test_a_report_is_never_written_over_a_store(made: Made, tmp_path: Path) -> None:
    copy = tmp_path / "flows.sqlite"
    shutil.copy(made.db, copy)
    before = copy.read_bytes()
    assert _run("report", *EN, "--db", str(copy), "--out", str(copy))[0] == 2
    assert copy.read_bytes() == before
