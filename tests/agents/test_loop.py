"""editor/agents/loop.py: the agent loop against the simulator, scripted turn by turn."""

from __future__ import annotations

import pytest

from editor.agents.loop import AgentLoop, Hooks, Limits
from editor.agents.workcopy import WorkingCopy
from editor.assist.gateway import tier_get
from editor.assist.simulator import rules_from

EDIT = (
    "*** Begin Patch\n*** Update File: src/app.py\n-    return 1\n+    return 2\n"
    "*** Update File: README.md\n-# App\n+# App (v2)\n*** End Patch"
)


def limits(**overrides) -> Limits:
    values = dict(
        max_steps=20,
        wall_seconds=60,
        step_max_tokens=2048,
        step_retries=1,
        compact_at=0.75,
    )
    values.update(overrides)
    return Limits(**values)


def script(simulator, marker: str, turns: list[dict]) -> None:
    simulator.simulator.rules = rules_from(
        [{"marker": marker, "turn": i, **turn} for i, turn in enumerate(turns)]
    )


class Recorder:
    def __init__(self) -> None:
        self.steps: list[tuple[str, str, str, int]] = []
        self.usage: list = []
        self.saved = 0

    def hooks(self, **more) -> Hooks:
        return Hooks(
            step=lambda *step: self.steps.append(step),
            usage=lambda result, error, ms: self.usage.append((result, error)),
            files_changed=lambda copy: setattr(self, "saved", self.saved + 1),
            **more,
        )


def project() -> WorkingCopy:
    return WorkingCopy(base={"src/app.py": "def f():\n    return 1\n", "README.md": "# App\n"})


def test_a_scripted_task_reads_edits_two_files_runs_a_command_and_finishes(
    tiers, simulator, needs_sandbox
):
    script(
        simulator,
        "bump-version",
        [
            {"tool_calls": [{"name": "read_file", "arguments": {"path": "src/app.py"}}]},
            {
                "reply": "Changing both files.",
                "tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}],
            },
            {"tool_calls": [{"name": "read_file", "arguments": {"path": "../../etc/passwd"}}]},
            {
                "tool_calls": [
                    {
                        "name": "run_command",
                        "arguments": {"command": "python3 src/app.py; echo ok > CHANGES.txt"},
                    }
                ]
            },
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "Bumped f to 2."}}]},
        ],
    )
    work, rec = project(), Recorder()

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="bump-version please",
        copy=work,
        limits=limits(),
        commands=True,
        hooks=rec.hooks(),
    ).run()

    assert outcome.status == "succeeded", outcome
    assert outcome.summary == "Bumped f to 2."
    assert work.changed() == {
        "src/app.py": "def f():\n    return 2\n",
        "README.md": "# App (v2)\n",
        "CHANGES.txt": "ok\n",
    }
    kinds = [(kind, tool) for kind, tool, _, _ in rec.steps]
    assert ("model_text", "") in kinds
    assert kinds.count(("tool_call", "apply_patch")) == 1
    assert kinds.count(("tool_result", "run_command")) == 1
    refused = [
        text for kind, tool, text, _ in rec.steps if tool == "read_file" and "Refused" in text
    ]
    assert refused and "climbs out of the project" in refused[0]  # and the task carried on
    assert len(rec.usage) == 5 and all(error is None for _, error in rec.usage)
    assert rec.steps[-1][3] == outcome.tokens > 0  # tokens so far ride on every step
    assert rec.saved == 2  # after the patch and after the command


def test_a_bad_hunk_goes_back_to_the_model_which_can_fix_it(tiers, simulator):
    bad = (
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,2 @@\n"
        " def f():\n-    return 7\n+    return 8\n"
    )
    script(
        simulator,
        "fix-hunk",
        [
            {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": bad}}]},
            {"tool_calls": [{"name": "apply_patch", "arguments": {"patch": EDIT}}]},
            {"reply": "Done."},
        ],
    )
    work, rec = project(), Recorder()

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="fix-hunk",
        copy=work,
        limits=limits(),
        commands=False,
        hooks=rec.hooks(),
    ).run()

    assert outcome.status == "succeeded" and outcome.summary == "Done."
    error = simulator.simulator.last_request["messages"][3]["content"]
    assert error.startswith("Error: src/app.py: hunk 1 of 1 did not apply")
    assert "return 7" in error
    assert work.changed()["src/app.py"] == "def f():\n    return 2\n"


def test_model_errors_are_retried_then_fail_with_the_gateways_words(tiers, simulator):
    script(simulator, "always-down", [{"fault": "500"}])
    simulator.simulator.rules = rules_from([{"marker": "always-down", "fault": "500"}])
    rec = Recorder()

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="always-down",
        copy=project(),
        limits=limits(step_retries=1),
        commands=False,
        hooks=rec.hooks(),
    ).run()

    assert outcome.status == "failed"
    assert outcome.error_kind == "model_down"
    assert "deep model" in outcome.error_message and "HTTP 500" in outcome.error_message
    assert len(rec.usage) == 2 and all(error is not None for _, error in rec.usage)


def test_limits_end_a_task_with_its_work_kept(tiers, simulator):
    simulator.simulator.rules = rules_from(
        [{"marker": "endless", "tool_calls": [{"name": "list_files", "arguments": {}}]}]
    )

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="endless",
        copy=project(),
        limits=limits(max_steps=3),
        commands=False,
    ).run()

    assert outcome.status == "failed" and outcome.error_kind == "step_limit"
    assert outcome.steps == 3


def test_a_long_conversation_is_compacted_instead_of_failing(tiers, simulator, settings):
    settings.FLINT_MODEL_CONTEXT_TOKENS = {"fast": 4096, "deep": 4096, "review": 4096}
    simulator.simulator.context_tokens = 4096
    big = "".join(f"line {n}: {'x' * 60}\n" for n in range(200))
    turns = [{"tool_calls": [{"name": "read_file", "arguments": {"path": "big.txt"}}]}] * 8
    script(simulator, "read-a-lot", [*turns, {"reply": "Read it all."}])
    rec = Recorder()

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="read-a-lot",
        copy=WorkingCopy(base={"big.txt": big}),
        limits=limits(),
        commands=False,
        hooks=rec.hooks(),
    ).run()

    assert outcome.status == "succeeded", outcome.error_message
    assert any(kind == "info" and "compacted" in text for kind, _, text, _ in rec.steps)


def test_cancel_is_checked_between_steps(tiers, simulator):
    simulator.simulator.rules = rules_from(
        [{"marker": "stop-me", "tool_calls": [{"name": "list_files", "arguments": {}}]}]
    )
    rec = Recorder()
    hooks = rec.hooks(cancelled=lambda: len(rec.usage) >= 2)

    outcome = AgentLoop(
        tier=tier_get("deep"),
        prompt="stop-me",
        copy=project(),
        limits=limits(),
        commands=False,
        hooks=hooks,
    ).run()

    assert outcome.status == "cancelled"
    assert len(rec.usage) == 2


@pytest.mark.parametrize("commands", [True, False])
def test_run_command_is_offered_only_with_a_sandbox(tiers, simulator, commands):
    simulator.simulator.rules = rules_from([{"marker": "tools?", "reply": "ok"}])

    AgentLoop(
        tier=tier_get("deep"), prompt="tools?", copy=project(), limits=limits(), commands=commands
    ).run()

    offered = [t["function"]["name"] for t in simulator.simulator.last_request["tools"]]
    assert ("run_command" in offered) is commands
    system = simulator.simulator.last_request["messages"][0]["content"]
    assert ("commands are disabled" in system) is not commands


def test_the_log_names_a_patchs_files_as_project_paths_without_the_diff_prefix():
    from editor.agents.loop import _describe

    patch = (
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-x\n+y\n"
        "--- /dev/null\n+++ b/README.md\t2026-01-01\n@@ -0,0 +1 @@\n+hi\n"
        "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    )
    assert _describe("apply_patch", {"patch": patch}) == "apply_patch src/app.py, README.md"
    envelope = "*** Begin Patch\n*** Update File: src/b.py\n@@\n-x\n+y\n*** End Patch\n"
    assert _describe("apply_patch", {"patch": envelope}) == "apply_patch src/b.py"
