"""Chromium against Flint's model simulator: the fast model in the room.

A simulator (scripted, so answers are exact) runs in this process; a daphne of our own
points its fast tier at it, in demo mode. alice and bob edit the room, carol views it.
Ghost text appears after a pause and Tab inserts it; a quick edit alice asks for streams
as a diff into bob's page and, accepted, changes the text in both (and alice can undo
it); an answer bob asks for streams into carol's page; each fault shows its message
where the person is looking, with the partial output kept and labelled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from editor.assist.simulator import Simulator, SimulatorThread, rules_from
from tests.support.browser import open_room_as, screenshot_path
from tests.support.live import LiveProcess, start_daphne

pytestmark = [pytest.mark.live, pytest.mark.browser]

MODEL = "sim-spark"
CALC = "def add(a, b):\n    x = a + b\n    return x\n\n\nprint(add(1, 2))\n"
CALC_SELECTION = "def add(a, b):\n    x = a + b\n    return x\n"
CALC_EDITED = "def add(a, b):\n    total = a + b\n    return total\n"
CALC_TYPED = "def add(a: int, b: int) -> int:\n    x = a + b\n    return int(x)\n"
ANSWER = (
    "`add` returns the **sum** of its two arguments.\n\n"
    "```python\nprint(add(2, 3))  # 5\n```\n\nNothing else in the project calls it."
)
WIDE_GHOST = "return " + " + ".join(f"compute_the_value_of_{n}(argument)" for n in range(12))
TALL_GHOST = "total = 0\n    for item in range(10):\n        total += " + " + ".join(
    f"weight_of_{n}(item)" for n in range(12)
)
SCRIPT = {
    "rules": [
        # Inline completion: the file around <CURSOR> is the last user message.
        {"match": "def greet(name):\n    <CURSOR>", "reply": 'return f"Hello, {name}!"'},
        # Quick edit: slow enough that the diff is seen streaming.
        # Slow enough (~2 s) that bob's page is seen while it streams, not only once done.
        {"match": "Instruction: rename x to total", "reply": CALC_EDITED, "tps": 15},
        {"match": "Question: What does add do?", "reply": ANSWER, "tps": 120},
        {"match": "Instruction: type it", "reply": CALC_TYPED},
        {"match": "def wide():\n    <CURSOR>", "reply": WIDE_GHOST},
        {"match": "def tall():\n    <CURSOR>", "reply": TALL_GHOST},
    ]
}


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorThread]:
    running = SimulatorThread(
        Simulator(tokens_per_s=400, ttft_ms=40, api_key="sim", rules=rules_from(SCRIPT))
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def flint(simulator, django_db_setup, django_db_blocker) -> Iterator[LiveProcess]:
    """Our own daphne: the fast tier on the simulator, demo mode, a short timeout."""
    env = {
        "FLINT_FAST_MODEL_BASE_URL": simulator.base_url,
        "FLINT_FAST_MODEL_API_KEY": "sim",
        "FLINT_FAST_MODEL_NAME": MODEL,
        "FLINT_FAST_MODEL_TIMEOUT": "2",
        "FLINT_MODEL_RETRIES": "0",  # a fault is reported at once
        "FLINT_DEMO_MODE": "1",
    }
    with django_db_blocker.unblock():
        daphne = start_daphne(env=env)
    try:
        yield daphne
    finally:
        daphne.stop()


def open_file(page, path):
    page.locator(f".tree-row[data-path='{path}']").click()
    expect(page.locator(".tab[aria-selected='true']")).to_have_attribute("title", path)
    expect(page.locator("[data-doc-conn]")).to_have_attribute("data-state", "synced")
    return page.locator(".editor-host:not([hidden]) .cm-content")


JS_DOC = (
    "() => (e => e.tabs.get(e.active).session.view.state.doc.toString())(window.flintRoom.editor)"
)


def doc_text(page):
    return page.evaluate(f"({JS_DOC})()")


def select(page, start, end):
    page.evaluate(
        "([a, b]) => { const e = window.flintRoom.editor;"
        " const v = e.tabs.get(e.active).session.view; v.focus();"
        " v.dispatch({ selection: { anchor: a, head: b } }); }",
        [start, end],
    )


def caret_at_end(page):
    page.evaluate(
        "(() => { const e = window.flintRoom.editor; const v = e.tabs.get(e.active).session.view;"
        " v.focus(); v.dispatch({ selection: { anchor: v.state.doc.length } }); })()"
    )


@pytest.fixture(autouse=True)
def _patient_expect():
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


def test_ghost_text_appears_and_tab_inserts_it(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.assist.models import CompletionFeedback
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/greet.py", text="def greet(name):\n")
    file_create(room=cast.room, actor=cast.alice, path="src/other.py", text="GREETING = 'Hello'\n")
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1360, height=820)
    open_file(alice, "src/other.py")
    open_file(alice, "src/greet.py")
    caret_at_end(alice)
    alice.keyboard.type("    ")
    ghost = alice.locator(".cm-assist-ghost")
    expect(ghost.locator(".cm-assist-ghost-text")).to_have_text('return f"Hello, {name}!"')
    expect(ghost.locator("[data-assist-model]")).to_have_text(MODEL)
    expect(ghost.locator("[data-assist-demo-label]")).to_be_visible()
    # The ghost is not in the text yet.
    assert doc_text(alice) == "def greet(name):\n    "
    alice.screenshot(path=screenshot_path(request, "1-ghost-text"))

    alice.keyboard.press("Tab")
    expect(ghost).to_have_count(0)
    assert doc_text(alice) == 'def greet(name):\n    return f"Hello, {name}!"'
    # An ordinary local edit: undo takes it back (with the spaces typed just
    # before it, in one undo step), redo brings it again.
    alice.keyboard.press("Control+z")
    alice.wait_for_function(f"() => !({JS_DOC})().includes('return')")
    alice.keyboard.press("Control+y")
    alice.wait_for_function(f"() => ({JS_DOC})().endsWith('{{name}}!\"')")
    alice.screenshot(path=screenshot_path(request, "2-accepted"))

    # Esc dismisses a new suggestion.
    caret_at_end(alice)
    alice.keyboard.type("\n")
    alice.keyboard.type(" ")
    expect(ghost.locator(".cm-assist-ghost-text")).to_be_visible()
    alice.keyboard.press("Escape")
    expect(ghost).to_have_count(0)
    # Shown, accepted and dismissed reached the server (the acceptance rate).
    deadline = time.monotonic() + 10
    while True:
        events = set(
            CompletionFeedback.objects.filter(user=cast.alice).values_list("event", flat=True)
        )
        if {"shown", "accepted", "dismissed"} <= events or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {"shown", "accepted", "dismissed"} <= events


def test_quick_edit_streams_to_the_room_and_lands_in_both_pages(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1360, height=820)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=820)
    open_file(alice, "src/calc.py")
    open_file(bob, "src/calc.py")

    select(alice, 0, len(CALC_SELECTION))
    alice.keyboard.press("Control+k")
    prompt = alice.locator("[data-qe-prompt] input")
    expect(prompt).to_be_focused()
    prompt.fill("rename x to total")
    alice.screenshot(path=screenshot_path(request, "1-alice-asks"))
    prompt.press("Enter")

    # bob sees the diff stream in, with who asked and which model answers.
    head = bob.locator(".cm-qe-head")
    expect(bob.locator("[data-qe-status='streaming']")).to_be_visible()
    expect(head.locator("[data-qe-who]")).to_have_text("Alice")
    expect(head).to_contain_text("rename x to total")
    expect(head.locator("[data-assist-model]")).to_have_text(f"fast · {MODEL}")
    expect(head.locator("[data-assist-demo-label]")).to_have_text("Simulated model (demo)")
    bob.screenshot(path=screenshot_path(request, "2-bob-sees-it-stream"))
    expect(head).to_have_attribute("data-qe-status", "done")
    expect(bob.locator(".cm-qe-add .cm-qe-add-line")).to_have_text(
        ["    total = a + b", "    return total"]
    )
    expect(bob.locator(".cm-line.cm-qe-del")).to_have_count(2)
    expect(head).to_contain_text("Alice decides")
    expect(head.locator("[data-qe-action='accept']")).to_have_count(0)

    # Meanwhile bob types elsewhere: the anchored change still lands right.
    caret_at_end(bob)
    bob.keyboard.type("# bob was here\n")
    expect(alice.locator(".editor-host:not([hidden]) .cm-content")).to_contain_text(
        "# bob was here"
    )
    alice.screenshot(path=screenshot_path(request, "3-alice-reviews"))
    alice.locator(".cm-qe-head [data-qe-action='accept']").click()

    expected = CALC_EDITED + CALC[len(CALC_SELECTION) :] + "# bob was here\n"
    for page in (alice, bob):
        page.wait_for_function(f"() => ({JS_DOC})() === {expected!r}")
        expect(page.locator(".cm-qe-head")).to_have_count(0)
    bob.screenshot(path=screenshot_path(request, "4-bob-after-accept"))

    # alice can undo what she accepted; bob sees it undone.
    alice.locator(".editor-host:not([hidden]) .cm-content").focus()
    alice.keyboard.press("Control+z")
    original = CALC + "# bob was here\n"
    for page in (alice, bob):
        page.wait_for_function(f"() => ({JS_DOC})() === {original!r}")


def ask(page, question):
    box = page.locator("[data-assist-question]")
    box.fill(question)
    box.press("Enter")


def test_an_answer_streams_to_everyone_and_history_reloads(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=820)
    carol = open_room_as(browser, flint, cast.carol, cast.room, width=1360, height=820)
    open_file(bob, "src/calc.py")
    # A viewer reads along but cannot ask.
    expect(carol.locator("[data-assist-question]")).to_be_disabled()
    expect(carol.locator("[data-assist-viewer-note]")).to_be_visible()

    select(bob, 0, len(CALC_SELECTION))
    ask(bob, "What does add do?")
    for page, name in ((bob, "You"), (carol, "Bob")):
        question = page.locator("[data-qa-question]").last
        expect(question).to_contain_text("What does add do?")
        expect(question.locator(".assist-who")).to_have_text(name)
        expect(question).to_contain_text("src/calc.py")
    # carol sees it while it streams, then whole.
    answer = carol.locator("[data-qa-answer]").last
    expect(answer).to_have_attribute("data-status", "streaming")
    carol.screenshot(path=screenshot_path(request, "1-carol-sees-it-stream"))
    for page in (bob, carol):
        answer = page.locator("[data-qa-answer]").last
        expect(answer).to_have_attribute("data-status", "ok")
        expect(answer.locator("[data-assist-model]")).to_have_text(f"fast · {MODEL}")
        expect(answer.locator("[data-assist-demo-label]")).to_be_visible()
        expect(answer.locator("p").first).to_have_text("add returns the sum of its two arguments.")
        expect(answer.locator("p code")).to_have_text("add")
        expect(answer.locator(".assist-code pre")).to_have_text("print(add(2, 3))  # 5")
        expect(answer.locator("[data-code-copy]")).to_be_visible()
        expect(answer.locator(".assist-spinner")).to_have_count(0)
    expect(bob.locator("[data-qa-answer] [data-code-apply]")).to_be_visible()
    expect(carol.locator("[data-qa-answer] [data-code-apply]")).to_be_hidden()
    bob.screenshot(path=screenshot_path(request, "2-bob-has-the-answer"))

    # History: a new page of bob's loads the conversation.
    bob.reload()
    expect(bob.locator("[data-conn]")).to_have_attribute("data-state", "live")
    question = bob.locator("[data-qa-question]")
    expect(question).to_have_count(1)
    expect(question).to_contain_text("What does add do?")
    expect(question.locator(".assist-who")).to_have_text("You")  # as it was named live
    expect(bob.locator("[data-qa-answer] .assist-code pre")).to_have_text("print(add(2, 3))  # 5")
    expect(bob.locator("[data-qa-answer] [data-assist-model]")).to_have_text(f"fast · {MODEL}")


def test_faults_show_their_message_where_you_look_and_keep_partial_output(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    limited = "# [[sim:fault=429]]\n"  # every completion in this file is refused
    file_create(room=cast.room, actor=cast.alice, path="src/limited.py", text=limited)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=820)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1360, height=820)
    open_file(bob, "src/calc.py")
    open_file(alice, "src/calc.py")
    faults = [
        ("model_down", "[[sim:fault=500]]", "The fast model failed (HTTP 500)", False),
        ("rate_limited", "[[sim:fault=429]]", "The fast model is rate-limited", False),
        ("cut_off", "[[sim:fault=cut after=12 tokens=60]]", "cut off mid-way", True),
        ("timeout", "[[sim:fault=hang]]", "did not answer within 2 s", False),
    ]
    for number, (kind, marker, message, partial) in enumerate(faults, start=1):
        ask(bob, f"Fault {number}? {marker}")
        for page in (bob, alice):
            answer = page.locator("[data-qa-answer]").nth(number - 1)
            expect(answer).to_have_attribute("data-status", kind)
            expect(answer.locator(f"[data-qa-error='{kind}']")).to_contain_text(message)
            expect(answer.locator(".assist-spinner")).to_have_count(0)
            if partial:
                expect(answer.locator(".assist-msg-body")).not_to_be_empty()
                expect(answer.locator(".assist-partial")).to_have_text(
                    "Cut off: the answer above is partial."
                )
    expect(bob.locator("[data-qa-stop]")).to_have_count(0)
    bob.screenshot(path=screenshot_path(request, "1-qa-faults"))

    # A quick edit cut mid-way: the partial diff stays, labelled, in both pages.
    select(bob, 0, len(CALC_SELECTION))
    bob.keyboard.press("Control+k")
    prompt = bob.locator("[data-qe-prompt] input")
    prompt.fill("tidy it [[sim:fault=cut after=10 tokens=60]]")
    prompt.press("Enter")
    for page in (bob, alice):
        head = page.locator(".cm-qe-head")
        expect(head).to_have_attribute("data-qe-status", "error")
        expect(head.locator("[data-qe-error='cut_off']")).to_contain_text("cut off mid-way")
        expect(head.locator(".assist-partial")).to_have_text("Cut off: the diff below is partial.")
        expect(page.locator(".cm-qe-add")).not_to_have_count(0)
        expect(head.locator(".assist-spinner")).to_have_count(0)
    bob.screenshot(path=screenshot_path(request, "2-edit-cut-off"))
    bob.locator(".cm-qe-head [data-qe-action='reject']").click()
    for page in (bob, alice):
        expect(page.locator(".cm-qe-head")).to_have_count(0)
        page.wait_for_function(f"() => ({JS_DOC})() === {CALC!r}")

    # An inline completion that is rate-limited: a toast at the cursor.
    open_file(bob, "src/limited.py")
    caret_at_end(bob)
    bob.keyboard.type("x = ")
    toast = bob.locator("[data-assist-toast='rate_limited']")
    expect(toast).to_contain_text("The fast model is rate-limited")
    bob.screenshot(path=screenshot_path(request, "3-completion-rate-limited"))
    expect(toast).to_have_count(0, timeout=10_000)  # it goes by itself


def test_quick_edit_hunk_by_hunk(flint, transactional_db, allow_sync_orm, cast, request, browser):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1360, height=820)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=820)
    open_file(alice, "src/calc.py")
    open_file(bob, "src/calc.py")
    select(alice, 0, len(CALC_SELECTION))
    alice.keyboard.press("Control+k")
    alice.locator("[data-qe-prompt] input").fill("type it")
    alice.locator("[data-qe-prompt] input").press("Enter")
    expect(alice.locator(".cm-qe-head")).to_have_attribute("data-qe-status", "done")
    expect(alice.locator(".cm-qe-add")).to_have_count(2)
    expect(bob.locator(".cm-qe-add")).to_have_count(2)
    expect(alice.locator(".cm-qe-head")).to_contain_text("2 changes")
    alice.screenshot(path=screenshot_path(request, "1-two-hunks"))

    # Reject the second hunk: it goes from both pages; the first stays to decide.
    alice.locator(".cm-qe-add[data-qe-hunk='1'] [data-qe-action='reject-hunk']").click()
    for page in (alice, bob):
        expect(page.locator(".cm-qe-add")).to_have_count(1)
        expect(page.locator(".cm-qe-add")).to_contain_text("def add(a: int, b: int)")
    assert doc_text(alice) == CALC
    # Accepting the last hunk closes the edit everywhere.
    alice.locator(".cm-qe-head [data-qe-action='accept']").click()
    expected = "def add(a: int, b: int) -> int:" + CALC[len("def add(a, b):") :]
    for page in (alice, bob):
        page.wait_for_function(f"() => ({JS_DOC})() === {expected!r}")
        expect(page.locator(".cm-qe-head")).to_have_count(0)


def test_only_the_asker_closes_or_narrows_a_quick_edit(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    """bob's page says, in its awareness, that alice's edit is closed and narrowed to his
    text; alice's and carol's pages keep showing her proposal (issue #10, item 4)."""
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    alice = open_room_as(browser, flint, cast.alice, cast.room)
    bob = open_room_as(browser, flint, cast.bob, cast.room)
    carol = open_room_as(browser, flint, cast.carol, cast.room)
    for page in (alice, bob, carol):
        open_file(page, "src/calc.py")
    select(alice, 0, len(CALC_SELECTION))
    alice.keyboard.press("Control+k")
    alice.locator("[data-qe-prompt] input").fill("rename x to total")
    alice.locator("[data-qe-prompt] input").press("Enter")
    for page in (bob, carol):
        expect(page.locator(".cm-qe-head")).to_have_attribute("data-qe-status", "done")
    bob.evaluate(
        """() => {
          const room = window.flintRoom;
          const [id] = [...room.assistant.edits.entries.keys()];
          const session = room.editor.tabs.get(room.editor.active).session;
          session.awareness.setLocalStateField("assistEdits", {
            closed: [id], proposed: { [id]: "pwned = 1\\n" } });
        }"""
    )
    carol.wait_for_function(
        "() => { const e = window.flintRoom.editor;"
        " const aw = e.tabs.get(e.active).session.awareness;"
        " return [...aw.getStates().values()].some((s) => s.assistEdits"
        " && s.assistEdits.closed.length); }"
    )
    for page in (alice, carol):
        expect(page.locator(".cm-qe-head")).to_have_count(1)
        expect(page.locator(".cm-qe-add .cm-qe-add-line")).to_have_text(
            ["    total = a + b", "    return total"]
        )
    carol.screenshot(path=screenshot_path(request, "carol-still-sees-alices-edit"))
    # alice's own decision still reaches everyone.
    alice.locator(".cm-qe-head [data-qe-action='reject']").click()
    for page in (bob, carol):
        expect(page.locator(".cm-qe-head")).to_have_count(0)


def test_a_refused_question_reloads_as_it_was_seen_and_names_are_display_names(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create
    from editor.usage.models import UserLimit

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    UserLimit.objects.create(user=cast.bob, requests_per_minute=1)  # the second is refused
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=820)
    carol = open_room_as(browser, flint, cast.carol, cast.room, width=1360, height=820)
    ask(bob, "What does add do?")
    expect(bob.locator("[data-qa-answer]").first).to_have_attribute("data-status", "ok")
    ask(bob, "And what does print do?")
    refused = bob.locator("[data-qa-answer]").nth(1)
    expect(refused).to_have_attribute("data-status", "quota")
    expect(refused.locator("[data-qa-error='quota']")).to_contain_text("Rate limit reached")
    live = {"answers": bob.locator("[data-qa-answer]").all_inner_texts()}
    live["body"] = bob.locator("[data-qa-answer] .assist-msg-body").first.inner_text()
    bob.screenshot(path=screenshot_path(request, "1-refused-live"))

    bob.reload()
    expect(bob.locator("[data-qa-question]")).to_have_count(2)
    expect(bob.locator("[data-qa-question] .assist-who")).to_have_text(["You", "You"])
    again = bob.locator("[data-qa-answer]")
    expect(again.nth(1)).to_have_attribute("data-status", "quota")
    # The refusal reads as it did live (not "No answer was stored"), and so does the answer.
    assert again.nth(1).inner_text() == live["answers"][1]
    assert bob.locator("[data-qa-answer] .assist-msg-body").first.inner_text() == live["body"]
    bob.screenshot(path=screenshot_path(request, "2-refused-after-reload"))

    # Others see the asker by their display name, as the live view names them.
    carol.reload()
    expect(carol.locator("[data-qa-question] .assist-who")).to_have_text(["Bob", "Bob"])
    expect(carol.locator("[data-qa-answer]").nth(1)).to_contain_text("Rate limit reached")
    expect(carol.get_by_text("No answer was stored")).to_have_count(0)
    carol.screenshot(path=screenshot_path(request, "3-carol-after-reload"))


def test_answers_that_arrive_while_the_panel_is_hidden_are_scrolled_to_when_it_shows(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/calc.py", text=CALC)
    bob = open_room_as(browser, flint, cast.bob, cast.room, width=1360, height=700)
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1360, height=700)
    alice.locator("[data-assist-tab='tasks']").click()
    expect(alice.locator("[data-assist-log]")).to_be_hidden()
    for number in range(1, 5):
        ask(bob, f"What does add do? ({number})")
        expect(bob.locator("[data-qa-answer]").nth(number - 1)).to_have_attribute(
            "data-status", "ok"
        )
    expect(alice.locator("[data-qa-answer][data-status='ok']")).to_have_count(4)

    alice.locator("[data-assist-tab='ask']").click()
    log = alice.locator("[data-assist-log]")
    expect(log).to_be_visible()
    assert log.evaluate("l => l.scrollHeight > l.clientHeight + 100")  # it does overflow
    alice.wait_for_function(
        "() => { const l = document.querySelector('[data-assist-log]');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight < 40; }"
    )
    expect(alice.locator("[data-qa-answer]").last).to_be_in_viewport()
    alice.screenshot(path=screenshot_path(request, "newest-shown"))


def _ghost_fits(page, part) -> None:
    """`part` of the ghost, and its Tab hint, lie within the editor's visible width."""
    scroller = page.locator(".editor-host:not([hidden]) .cm-scroller").bounding_box()
    box = page.locator(part).bounding_box()
    assert box["x"] + box["width"] <= scroller["x"] + scroller["width"], (box, scroller)
    key = page.locator(".cm-assist-key").bounding_box()
    assert key["x"] + key["width"] <= scroller["x"] + scroller["width"], (key, scroller)
    # The text itself does not wrap: no horizontal scrolling, no line wrapping turned on.
    assert page.evaluate(
        "() => { const s = document.querySelector('.editor-host:not([hidden]) .cm-scroller');"
        " return s.scrollWidth <= s.clientWidth; }"
    )
    expect(page.locator(".cm-lineWrapping")).to_have_count(0)


def test_long_ghost_text_wraps_within_the_editor_and_keeps_the_tab_hint_in_sight(
    flint, transactional_db, allow_sync_orm, cast, request, browser
):
    from editor.projects.services import file_create

    file_create(room=cast.room, actor=cast.alice, path="src/wide.py", text="def wide():\n")
    file_create(room=cast.room, actor=cast.alice, path="src/tall.py", text="def tall():\n")
    alice = open_room_as(browser, flint, cast.alice, cast.room, width=1100, height=760)

    open_file(alice, "src/wide.py")
    caret_at_end(alice)
    alice.keyboard.type("    ")
    ghost = alice.locator(".cm-assist-ghost")
    expect(ghost.locator(".cm-assist-ghost-text")).to_have_text(WIDE_GHOST)
    expect(alice.locator(".cm-assist-key")).to_be_visible()
    _ghost_fits(alice, ".cm-assist-ghost")
    assert (
        ghost.bounding_box()["height"]
        > 2 * alice.locator(".cm-line").first.bounding_box()["height"]
    )  # it wrapped
    alice.screenshot(path=screenshot_path(request, "1-wide-ghost"))
    alice.keyboard.press("Tab")
    assert doc_text(alice) == "def wide():\n    " + WIDE_GHOST

    # Several lines: the first at the cursor, the rest below it from the left margin.
    open_file(alice, "src/tall.py")
    caret_at_end(alice)
    alice.keyboard.type("    ")
    more = alice.locator(".cm-assist-ghost-more")
    expect(ghost.locator(".cm-assist-ghost-text")).to_have_text("total = 0")
    expect(more.locator(".cm-assist-ghost-text")).to_have_text(TALL_GHOST.split("\n", 1)[1])
    _ghost_fits(alice, ".cm-assist-ghost-more")
    line = alice.locator(".editor-host:not([hidden]) .cm-line").first.bounding_box()
    assert abs(more.bounding_box()["x"] - line["x"]) < 2  # indentation reads as inserted
    alice.screenshot(path=screenshot_path(request, "2-tall-ghost"))
    alice.keyboard.press("Tab")
    assert doc_text(alice) == "def tall():\n    " + TALL_GHOST
