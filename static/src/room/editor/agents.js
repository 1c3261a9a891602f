// A deep task writing into this document (its changes being applied) shows like a person:
// y-codemirror.next draws its caret with its name on hover, as for anyone; this adds what
// tells it apart at a glance: the changed range tinted and a label that stays visible,
// "task #12, started by alice", until the server removes the state a few seconds later
// (editor/collab/agents.py). The colour is the page's own (CSS), never the state's.
import { StateEffect } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, WidgetType } from "@codemirror/view";
import * as Y from "yjs";

const refresh = StateEffect.define();

class AgentLabel extends WidgetType {
  constructor(name, task) {
    super();
    this.name = name;
    this.task = task;
  }

  eq(other) {
    return other.name === this.name && other.task === this.task;
  }

  toDOM() {
    const label = document.createElement("span");
    label.className = "cm-agent-label";
    label.dataset.agentTask = String(this.task);
    label.textContent = this.name;
    label.title = `Changes of ${this.name}, just applied`;
    return label;
  }

  ignoreEvent() {
    return true;
  }
}

/** The states of agents in `awareness`: [{task, name, cursor}]. */
export function agentStates(awareness) {
  const out = [];
  for (const state of awareness.getStates().values()) {
    const agent = state && state.user && state.user.agent;
    if (agent && typeof state.user.name === "string") out.push({ task: Number(agent.task), name: state.user.name, cursor: state.cursor });
  }
  return out;
}

function resolve(json, ydoc, length) {
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), ydoc);
    return abs ? Math.min(abs.index, length) : null;
  } catch {
    return null; // a position this replica cannot place (yet): no decoration
  }
}

function decorations(view, awareness, ydoc) {
  const length = view.state.doc.length;
  const ranges = [];
  for (const { task, name, cursor } of agentStates(awareness)) {
    if (!cursor || !cursor.anchor || !cursor.head) continue;
    const a = resolve(cursor.anchor, ydoc, length);
    const b = resolve(cursor.head, ydoc, length);
    if (a === null || b === null) continue;
    const from = Math.min(a, b);
    const to = Math.max(a, b);
    if (to > from) ranges.push(Decoration.mark({ class: "cm-agent-edit" }).range(from, to));
    ranges.push(Decoration.widget({ widget: new AgentLabel(name, task), side: -1 }).range(from));
  }
  return Decoration.set(ranges, true);
}

const theme = EditorView.baseTheme({
  ".cm-agent-edit": { backgroundColor: "#7c3aed22", borderBottom: "2px solid #7c3aed" },
  ".cm-agent-label": {
    backgroundColor: "#7c3aed",
    color: "#fff",
    borderRadius: "3px",
    padding: "0 4px",
    marginRight: "2px",
    fontSize: "0.72em",
    fontFamily: "system-ui, sans-serif",
    verticalAlign: "text-top",
    whiteSpace: "nowrap",
  },
});

/** The extension for one session: its awareness and Y.Doc. */
export function agentCursors(awareness, ydoc) {
  const plugin = ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.view = view;
        this.decorations = decorations(view, awareness, ydoc);
        this.onChange = (_, origin) => {
          if (origin === "local") return;
          // Outside CodeMirror's update cycle: ask for a redraw.
          queueMicrotask(() => {
            if (!this.destroyed) view.dispatch({ effects: refresh.of(null) });
          });
        };
        awareness.on("change", this.onChange);
      }

      update(update) {
        if (update.docChanged || update.transactions.some((t) => t.effects.some((e) => e.is(refresh)))) {
          this.decorations = decorations(update.view, awareness, ydoc);
        }
      }

      destroy() {
        this.destroyed = true;
        awareness.off("change", this.onChange);
      }
    },
    { decorations: (value) => value.decorations },
  );
  return [plugin, theme];
}
