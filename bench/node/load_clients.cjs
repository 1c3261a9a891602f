// Many stock y-websocket WebsocketProviders in one Node process, for the load test
// (tests/collab/test_load.py) and benchmarks.
//
// Usage: node load_clients.cjs <config.json>
// config: {serverUrls: [url], docs: [docId], tokens: [token], perDoc, joinMs, holdMs,
//          awarenessMs, typistsPerDoc, keysPerSecond, settleMs, editAfterHold}
//   - opens perDoc providers on every doc (tokens and servers used round robin, so with
//     two servers every doc has clients on both), spread over joinMs;
//   - every provider renews its awareness state each awarenessMs (y-websocket's own
//     heartbeat is every 15 s: a shorter period compresses time);
//   - typistsPerDoc providers of each doc type keysPerSecond characters a second; every
//     other client of the doc times each keystroke from the typist's insert to its own
//     copy (same process, same clock: the Yjs id of each character, client and clock,
//     names the keystroke), reported as latency {n, p50, p99, max} and `delivered`;
//   - after holdMs, typing stops and every doc must converge within settleMs;
//   - editAfterHold (optional): after the hold, the first client of every doc (on the
//     first server) inserts a line no one has seen; the result says how many clients,
//     and how many of those on the other servers, hold it after the settle.
// Prints JSON lines: {event: "joined", ms}, with editAfterHold {event: "held", ms} at
// the end of the hold, then {event: "result", ...}. Any close of a
// socket before the end counts (the server must never close a healthy client).
const fs = require('fs')
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const clients = []
const closes = {}
const errors = { count: 0 }
let ending = false
let typed = 0
// Keystroke timing: "<client id>:<clock>" of each typed character -> when it was typed.
const typedAt = new Map()
const latencies = []
let measuring = false

function open (docId, index, position) {
  const doc = new Y.Doc()
  const serverUrl = config.serverUrls[position % config.serverUrls.length]
  const provider = new WebsocketProvider(serverUrl, docId, doc, {
    params: { token: config.tokens[position % config.tokens.length] },
    WebSocketPolyfill: WebSocket,
    disableBc: true
  })
  const server = position % config.serverUrls.length
  const client = { docId, doc, provider, server, synced: false, closes: 0 }
  provider.on('sync', (synced) => { if (synced) client.synced = true })
  provider.on('connection-close', (event) => {
    if (ending) return
    const code = String(event ? event.code : 'none')
    closes[code] = (closes[code] || 0) + 1
    client.closes += 1
  })
  provider.on('connection-error', () => { if (!ending) errors.count += 1 })
  provider.awareness.setLocalStateField('user', { name: 'load ' + index })
  doc.on('afterTransaction', (tr) => {
    if (tr.local || !measuring) return
    const now = performance.now()
    tr.afterState.forEach((after, id) => {
      for (let clock = tr.beforeState.get(id) || 0; clock < after; clock++) {
        const at = typedAt.get(id + ':' + clock)
        if (at !== undefined) latencies.push(now - at)
      }
    })
  })
  clients.push(client)
  return client
}

async function main () {
  const started = Date.now()
  const total = config.docs.length * config.perDoc
  const gap = total > 1 ? config.joinMs / total : 0
  let index = 0
  for (let i = 0; i < config.perDoc; i++) {
    for (const docId of config.docs) {
      open(docId, index++, i)
      if (gap) await sleep(gap)
    }
  }
  while (clients.some((c) => !c.synced) && Date.now() - started < config.joinMs + 60000) {
    await sleep(50)
  }
  say({ event: 'joined', ms: Date.now() - started, synced: clients.filter((c) => c.synced).length, total })

  let tick = 0
  const heartbeat = setInterval(() => {
    tick += 1
    for (const c of clients) c.provider.awareness.setLocalStateField('tick', tick)
  }, config.awarenessMs)
  const typists = []
  for (const docId of config.docs) {
    typists.push(...clients.filter((c) => c.docId === docId).slice(0, config.typistsPerDoc))
  }
  measuring = true
  // Each typist on its own timer, spread over the key interval (people do not type in step).
  const period = 1000 / config.keysPerSecond
  const timers = typists.map((c, i) => {
    const key = () => {
      const text = c.doc.getText('content')
      const clock = Y.getState(c.doc.store, c.doc.clientID)
      typedAt.set(c.doc.clientID + ':' + clock, performance.now())
      text.insert(text.length, 'x')
      typed += 1
    }
    let timer = null
    const first = setTimeout(() => { key(); timer = setInterval(key, period) }, (i * period) / Math.max(typists.length, 1))
    return () => { clearTimeout(first); if (timer) clearInterval(timer) }
  })
  await sleep(config.holdMs)
  for (const stop of timers) stop()
  await sleep(typists.length ? 1000 : 0) // the last keystrokes in flight
  measuring = false
  clearInterval(heartbeat)

  const markers = {}
  if (config.editAfterHold) {
    say({ event: 'held', ms: Date.now() - started })
    for (const docId of config.docs) {
      const first = clients.find((c) => c.docId === docId && c.server === 0)
      if (!first) continue
      markers[docId] = `edit ${process.pid}-${Date.now()} ${docId}\n`
      first.doc.getText('content').insert(0, markers[docId])
    }
  }
  const settleStart = Date.now()
  const distinct = () => {
    const out = {}
    for (const c of clients) {
      out[c.docId] = out[c.docId] || new Set()
      out[c.docId].add(c.doc.getText('content').toString())
    }
    return out
  }
  let texts = distinct()
  while (Object.values(texts).some((s) => s.size > 1) && Date.now() - settleStart < config.settleMs) {
    await sleep(200)
    texts = distinct()
  }
  const settledMs = Date.now() - settleStart
  ending = true
  let edit = null
  if (config.editAfterHold) {
    const has = (c) => markers[c.docId] !== undefined && c.doc.getText('content').toString().includes(markers[c.docId])
    const others = clients.filter((c) => c.server !== 0)
    edit = {
      docsEdited: Object.keys(markers).length,
      clientsWithEdit: clients.filter(has).length,
      otherServerClients: others.length,
      otherServerWithEdit: others.filter(has).length
    }
  }
  const diverged = Object.entries(texts).filter(([, s]) => s.size > 1).map(([d]) => d)
  const lengths = {}
  for (const [docId, s] of Object.entries(texts)) lengths[docId] = [...s].map((t) => t.length)
  latencies.sort((x, y) => x - y)
  const pct = (q) => latencies.length ? Math.round(100 * latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]) / 100 : null
  say({
    event: 'result',
    delivered: latencies.length,
    latency: { n: latencies.length, p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    clients: clients.length,
    connected: clients.filter((c) => c.provider.wsconnected).length,
    closes,
    connectionErrors: errors.count,
    clientsClosed: clients.filter((c) => c.closes > 0).length,
    typed,
    settledMs,
    edit,
    diverged,
    lengths
  })
  for (const c of clients) c.provider.destroy()
  await sleep(200)
  process.exit(0)
}

main().catch((err) => { say({ event: 'error', message: String(err && err.stack) }); process.exit(1) })
