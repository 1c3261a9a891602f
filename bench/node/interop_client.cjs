// The stock y-websocket WebsocketProvider against a Flint (or reference) server.
//
// Usage: node interop_client.cjs <serverUrl> <docId> <token> <mode>
//   mode "edit":   sync, print the text, insert a line, set a cursor, wait for "# from python",
//                  print the final text and the cursors it sees, exit 0.
//   mode "view":   sync, try to insert (a viewer: the server must drop it), then wait.
//   mode "refuse": print the close code of the first connection, exit.
// Every line on stdout is one JSON object; the Python test reads them.
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const [serverUrl, docId, token, mode] = process.argv.slice(2)
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(serverUrl, docId, doc, {
  params: { token },
  WebSocketPolyfill: WebSocket,
  disableBc: true,
  maxBackoffTime: 500
})
const deadline = setTimeout(() => { say({ event: 'timeout', text: text.toString() }); process.exit(2) }, 20000)

provider.on('connection-close', (event) => {
  if (mode === 'refuse') {
    say({ event: 'closed', code: event && event.code, reason: event && event.reason })
    clearTimeout(deadline)
    provider.destroy()
    process.exit(0)
  }
})

provider.on('sync', (synced) => {
  if (!synced || mode === 'refuse') return
  say({ event: 'synced', text: text.toString() })
  provider.awareness.setLocalStateField('user', { name: 'Node ' + mode, color: '#0a0' })
  text.insert(0, '// from node ' + mode + '\n')
  say({ event: 'inserted' })
  const check = () => {
    if (text.toString().includes('# from python')) {
      text.unobserve(check)
      const cursors = []
      provider.awareness.getStates().forEach((state, id) => {
        if (id !== doc.clientID && state.user) cursors.push(state.user.name)
      })
      say({ event: 'done', text: text.toString(), cursors })
      clearTimeout(deadline)
      // Let the last frames flush, then leave.
      setTimeout(() => { provider.destroy(); process.exit(0) }, 200)
    }
  }
  text.observe(check)
  check()
})
