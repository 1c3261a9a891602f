// Whose cursor a document shows. The presence list says where each person is from the
// `viewing` every page announces in its documents' awareness (EditorArea.announceViewing);
// a page keeps its cursor state in a document it has switched away from, so without this a
// person's cursor (and name tag) stayed in a file the list said they had left. The cursors
// follow the list: a remote cursor shows only in the document its page is viewing. A state
// with no `viewing` (a page or client that does not announce it) shows as before.

/** The awareness yCollab draws remote cursors from: `awareness`, with getStates() limited
 * to the states viewing `docId` (and this page's own). Everything else is the awareness's. */
export function cursorsOfViewers(awareness, docId) {
  const viewers = () => {
    const out = new Map();
    for (const [clientId, state] of awareness.getStates()) {
      const viewing = state && state.viewing;
      if (clientId === awareness.doc.clientID || !viewing || viewing.doc_id === docId) out.set(clientId, state);
    }
    return out;
  };
  return new Proxy(awareness, {
    get(target, prop) {
      if (prop === "getStates") return viewers;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
