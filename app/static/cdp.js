/*! cdp.js | Graph CDP browser snippet | analytics.js-compatible ids and storage | plain ES2017 */
(() => {
  'use strict';
  const VERSION = '0.1.0';
  const w = window, d = document, nav = navigator;
  // analytics.js's names, so a site moving from it keeps its visitors.
  const AID = 'ajs_anonymous_id', UID = 'ajs_user_id', TRAITS = 'ajs_user_traits', QUEUE = 'cdp_queue';
  const MAX_BATCH = 100, MAX_BATCH_BYTES = 400000, MAX_BEACON_BYTES = 60000; // API: 500 KB; beacons: 64 KB
  const MAX_MESSAGE_BYTES = 32 * 1024; // the API's limit per message
  const pre = w.cdp;
  if (pre && pre.VERSION) return; // included twice: the first copy keeps running
  const script = d.currentScript;
  const cfg = {
    writeKey: null,
    apiHost: script && script.src ? new URL(script.src).origin : location.origin, // served by the API itself
    flushAt: 20, flushInterval: 1000, retryBase: 1000, retryMax: 60000, maxQueue: 1000,
  };
  const enc = new TextEncoder();
  const warned = {};
  const warn = (key, text) => { if (!warned[key]) { warned[key] = 1; console.warn(text); } };
  const parse = (v) => { try { return JSON.parse(v); } catch (e) { return v; } };

  // localStorage holds JSON (as analytics.js does); it can be full or disabled, which is not an error.
  const ls = {
    get(k) { try { const v = localStorage.getItem(k); return v == null ? null : parse(v); } catch (e) { return null; } },
    set(k, v) {
      try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* */ }
    },
  };

  let domain;
  function cookieDomain() { // the widest domain that takes a cookie, so subdomains share the visitor
    if (domain !== undefined) return domain;
    domain = '';
    const host = location.hostname, parts = host.split('.');
    if (parts.length < 2 || /^[\d.]+$|:/.test(host)) return domain; // localhost, IP addresses: host-only
    for (let i = parts.length - 2; i >= 0; i--) {
      const dom = parts.slice(i).join('.');
      d.cookie = `cdp_tld=1; path=/; domain=${dom}`;
      if (d.cookie.indexOf('cdp_tld=1') >= 0) {
        d.cookie = `cdp_tld=; path=/; domain=${dom}; max-age=0`;
        return (domain = dom);
      }
    }
    return domain;
  }
  const cookie = {
    get(k) {
      for (const part of d.cookie.split('; ')) {
        const i = part.indexOf('=');
        if (part.slice(0, i) !== k) continue;
        // Only a quoted value is JSON (analytics.js's form): a bare '12345678901234567890' must stay a string.
        try { const v = decodeURIComponent(part.slice(i + 1)); return v.charAt(0) === '"' ? parse(v) : v; } catch (e) { return null; }
      }
      return null;
    },
    set(k, v) {
      const dom = cookieDomain();
      d.cookie = `${k}=${v == null ? '; max-age=0' : encodeURIComponent(v) + '; max-age=31536000'}; path=/; SameSite=Lax` +
        (dom ? `; domain=${dom}` : '') + (location.protocol === 'https:' ? '; Secure' : '');
    },
  };
  const blank = (v) => v == null || v === '';
  // An id kept in both the cookie and localStorage: whichever survives restores the other.
  function stored(k, fresh) {
    let v = cookie.get(k);
    if (blank(v)) v = ls.get(k);
    if (blank(v) && fresh) v = fresh();
    if (blank(v)) return null;
    v = String(v);
    if (String(cookie.get(k)) !== v) cookie.set(k, v);
    if (String(ls.get(k)) !== v) ls.set(k, v);
    return v;
  }
  function store(k, v) { cookie.set(k, blank(v) ? null : String(v)); ls.set(k, blank(v) ? null : String(v)); }
  const anonymousId = () => stored(AID, uuid);
  const userId = () => stored(UID);
  const traits = () => { const t = ls.get(TRAITS); return t && typeof t === 'object' && !Array.isArray(t) ? t : {}; };

  function uuid() {
    const c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID(); // secure contexts only
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b); else for (let i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64; // version 4
    b[8] = (b[8] & 63) | 128; // RFC 4122 variant
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const pageProps = () => ({
    path: location.pathname, referrer: d.referrer, search: location.search, title: d.title,
    url: location.href.split('#')[0],
  });

  // Every message not yet accepted by the API, oldest first; kept in localStorage so a reload loses none.
  let q = ls.get(QUEUE);
  if (!Array.isArray(q)) q = [];
  let timer = null, sending = false, attempt = 0;
  // Other tabs share the stored queue: merge with it by messageId instead of overwriting it, and
  // leave out what this tab saw accepted or refused. (Two tabs may both send a message that was
  // stored when they loaded; the API stores a messageId once.)
  const done = new Set();
  function save() {
    const all = new Map();
    const stored = ls.get(QUEUE);
    for (const m of Array.isArray(stored) ? stored : []) if (m && m.messageId && !done.has(m.messageId)) all.set(m.messageId, m);
    for (const m of q) all.set(m.messageId, m);
    const keep = [...all.values()].slice(-cfg.maxQueue);
    ls.set(QUEUE, keep.length ? keep : null);
  }
  function drop(msgs) {
    const gone = new Set(msgs);
    for (const m of msgs) done.add(m.messageId);
    q = q.filter((m) => !gone.has(m));
    save();
  }

  // What the API would refuse is refused here, with a warning: a refused beacon loses its whole batch.
  const REQUIRED = {track: 'event', alias: 'userId', group: 'groupId'};
  function invalid(m) {
    const field = REQUIRED[m.type];
    if (field && (typeof m[field] !== 'string' || !m[field].trim()) && typeof m[field] !== 'number') {
      return `${m.type} needs ${field}`;
    }
    if (enc.encode(JSON.stringify(m)).length > MAX_MESSAGE_BYTES) return `a ${m.type} message is over 32 KB`;
    return null;
  }

  function enqueue(type, fields) {
    const m = Object.assign({
      type, messageId: uuid(), timestamp: new Date().toISOString(), anonymousId: anonymousId(),
      context: {
        page: pageProps(), userAgent: nav.userAgent, locale: nav.language, library: {name: 'cdp.js', version: VERSION},
      },
      integrations: {},
    }, fields);
    const uid = userId();
    if (uid !== null && m.userId === undefined) m.userId = uid;
    const why = invalid(m);
    if (why) { warn(`invalid-${type}`, `cdp.js: ${why}; the call was ignored`); return; }
    q.push(m);
    if (q.length > cfg.maxQueue) {
      q.splice(0, q.length - cfg.maxQueue);
      warn('full', `cdp.js: more than ${cfg.maxQueue} messages are waiting to be sent; the oldest were dropped`);
    }
    save();
    schedule(q.length >= cfg.flushAt ? 0 : cfg.flushInterval);
  }

  function schedule(delay) {
    // A pending retry keeps its backoff, and an earlier timer stands; sending reschedules when it ends.
    if (!cfg.writeKey || sending || (timer && (attempt || delay))) return;
    clearTimeout(timer);
    timer = setTimeout(flush, delay);
  }

  function take(maxBytes) { // the oldest messages that fit one request
    const out = [];
    let size = 0;
    for (const m of q) {
      size += enc.encode(JSON.stringify(m)).length + 1;
      if (out.length && (out.length >= MAX_BATCH || size > maxBytes)) break;
      out.push(m);
    }
    const sentAt = new Date().toISOString();
    for (const m of out) m.sentAt = sentAt;
    return {batch: out, sentAt};
  }

  async function flush() {
    clearTimeout(timer);
    timer = null;
    if (sending || !q.length || !cfg.writeKey) return;
    sending = true;
    const body = take(MAX_BATCH_BYTES);
    const payload = JSON.stringify(body);
    let res = null, text = '';
    try {
      res = await fetch(cfg.apiHost + '/v1/batch', {
        method: 'POST', body: payload,
        headers: {'Content-Type': 'application/json', Authorization: 'Basic ' + btoa(cfg.writeKey + ':')},
        keepalive: enc.encode(payload).length < MAX_BEACON_BYTES, // finishes even if the page goes away
      });
      text = await res.text(); // read to the end, or the request stays open until the page unloads
    } catch (e) { /* network error: retried below */ }
    sending = false;
    if (res && res.ok) {
      attempt = 0;
      drop(body.batch);
    } else if (res && res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      attempt = 0;
      refused(res.status, parse(text), body.batch);
    } else {
      return retry(res);
    }
    if (q.length) schedule(0); // what came in meanwhile
  }

  // A 4xx will not change on retry, and it leaves nothing of the batch to send: the API stored
  // its valid messages and names the bad ones (batch[3].userId), counting them (`refused`), or it
  // refused the request as a whole (a key, a size).
  function refused(status, err, batch) {
    if (!err || typeof err !== 'object') err = null;
    drop(batch);
    const count = err && typeof err.refused === 'number' ? err.refused : batch.length;
    warn('refused', `cdp.js: the API refused ${count} message(s) with ${status}` +
      (err ? `: ${err.field || ''} ${err.error || ''}` : ''));
  }

  function retry(res) { // network error, 408, 429, 5xx: exponential backoff with jitter, at least Retry-After
    attempt++;
    const cap = Math.min(cfg.retryMax, cfg.retryBase * 2 ** (attempt - 1));
    let wait = cap / 2 + Math.random() * cap / 2;
    const after = res && res.headers.get('Retry-After');
    if (after) {
      const ms = isNaN(after) ? Date.parse(after) - Date.now() : after * 1000;
      if (ms > wait) wait = ms;
    }
    timer = setTimeout(flush, wait);
  }

  // Leaving the page: a beacon outlives it. It cannot carry an Authorization header, so the write key
  // rides in the body, as text/plain (no CORS preflight). While the API is failing, the queue stays in
  // localStorage for the next page instead of going into a beacon nobody can retry.
  function beacon() {
    if (!cfg.writeKey || !q.length) return;
    // Not sending: write this tab's messages into the stored queue once more, in case another
    // tab's write (storage is shared, and updates between tabs are not atomic) left some out.
    if (attempt || !nav.sendBeacon) { save(); return; }
    while (q.length) {
      const body = take(MAX_BEACON_BYTES);
      body.writeKey = cfg.writeKey;
      if (!nav.sendBeacon(cfg.apiHost + '/v1/batch', JSON.stringify(body))) return;
      drop(body.batch);
    }
  }
  w.addEventListener('pagehide', beacon);
  d.addEventListener('visibilitychange', () => { if (d.visibilityState === 'hidden') beacon(); });
  w.addEventListener('online', () => { if (attempt) { clearTimeout(timer); timer = null; schedule(0); } });

  const api = {
    VERSION,
    load(writeKey, options) {
      if (cfg.writeKey || !writeKey) return;
      Object.assign(cfg, options || {}, {writeKey});
      // 'https://cdp.example.com', 'cdp.example.com' and Segment's 'host/v1' form all name the API.
      cfg.apiHost = String(cfg.apiHost).replace(/\/+$/, '').replace(/\/v1$/, '');
      if (!/^https?:\/\//.test(cfg.apiHost)) cfg.apiHost = 'https://' + cfg.apiHost;
      anonymousId();
      if (q.length) schedule(0); // what an earlier page left unsent
    },
    page(category, name, properties) { // page([category], [name], [properties]), as analytics.js reads it
      if (category && typeof category === 'object') { properties = category; category = name = undefined; }
      else if (name && typeof name === 'object') { properties = name; name = category; category = undefined; }
      else if (name === undefined) { name = category; category = undefined; }
      const m = {properties: Object.assign(pageProps(), properties)};
      if (!blank(name)) m.name = name;
      if (!blank(category)) m.category = category;
      enqueue('page', m);
    },
    track(event, properties) { enqueue('track', {event, properties: properties || {}}); },
    identify(id, newTraits) {
      if (id && typeof id === 'object') { newTraits = id; id = undefined; }
      let t = traits();
      if (!blank(id)) {
        if (userId() !== null && userId() !== String(id)) t = {}; // another person: their traits start afresh
        store(UID, id);
      }
      t = Object.assign({}, t, newTraits);
      ls.set(TRAITS, t);
      enqueue('identify', {traits: t});
    },
    alias(to, from) { enqueue('alias', {userId: to, previousId: blank(from) ? userId() || anonymousId() : from}); },
    group(groupId, groupTraits) { enqueue('group', {groupId, traits: groupTraits || {}}); },
    reset() { store(UID, null); ls.set(TRAITS, null); store(AID, uuid()); },
    user() { return {anonymousId, id: userId, traits}; },
    flush,
  };
  w.cdp = api;
  // Calls made to the stub before this file loaded, replayed in order.
  if (Array.isArray(pre)) for (const [method, ...args] of pre) if (typeof api[method] === 'function') api[method](...args);
})();
