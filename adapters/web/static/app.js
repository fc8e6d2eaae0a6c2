// shipgate's web console: shows a channel's messages as the bot posts and edits them, and sends
// /deliver commands and button clicks. Message content only ever reaches the page as text
// (textContent, text nodes), never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  const ACTION_TESTIDS = { 'deliver.approve': 'approve', 'deliver.reject': 'reject' };
  const TOAST_MS = 12000;

  // The status emoji the bot writes, which the console draws with its own icons (index.html's
  // template#icons) instead: without an emoji font they would all be the same empty box. Each maps to
  // its icon and the words a screen reader says in its place. Slack and Discord show the emoji.
  const MARKS = {
    '✅': ['pass', 'passed'],
    '❌': ['fail', 'failed'],
    '⛔': ['denied', 'denied'],
    '✋': ['waiting', 'waiting for approval'],
    '⏳': ['running', 'running'],
    '⚠': ['warning', 'warning'],
    '⏸': ['paused', 'paused'],
    '❄': ['frozen', 'frozen'],
    '🕓': ['queued', 'queued'],
    '🛑': ['stopped', 'stopped'],
    '⌛': ['timed-out', 'timed out'],
    '⏭': ['skipped', 'superseded'],
    '▶': ['resumed', 'resumed'],
    '↩': ['rollback', 'rollback'],
    '🚀': ['started', 'started'],
    '⏰': ['reminded', 'reminder'],
    '⏫': ['escalated', 'escalated'],
  };
  // A /deliver audit line starts with whether the action was allowed (✅) or denied (⛔), then its time.
  const AUDIT_VERDICT = { '✅': 'allowed', '⛔': 'denied' };
  const AUDIT_REST = /^ \d\d-\d\d \d\d:\d\d · /;
  // A stage's state on a root card's status line, as an icon and in words.
  const STATE_MARKS = {
    'not-reached': ['none', 'not reached'],
    queued: ['queued', 'queued'],
    running: ['running', 'running'],
    'waiting-for-approval': ['waiting', 'waiting for approval'],
    paused: ['paused', 'paused'],
    frozen: ['frozen', 'frozen'],
    passed: ['pass', 'passed'],
    warning: ['warning', 'warning'],
    failed: ['fail', 'failed'],
    aborted: ['stopped', 'aborted'],
    'timed-out': ['timed-out', 'timed out'],
  };
  // A score table row's status (its Status column), as an icon.
  const ROW_MARKS = { pass: 'pass', warning: 'warning', fail: 'fail', info: 'info' };
  // Which icon each kind of mark draws; queued and timed-out are both clocks, in their own colours.
  // A reminder is a clock too, and an escalation the arrow of a start, both in their own colours.
  const ICONS = { queued: 'clock', 'timed-out': 'clock', reminded: 'clock', escalated: 'started' };
  // What the score table shows first: what an objective is and how it did, before the figures.
  const LEAD_COLUMNS = ['Objective', 'Status', 'Score'];

  const state = {
    channel: new URLSearchParams(location.search).get('channel') || '',
    channels: [],
    mode: 'read-only', // demo, token or read-only
    users: [], // demo users
    me: null, // who the page logged in as (token mode)
    user: '', // the id the page acts as
    messages: new Map(), // id -> newest version of each message
    replies: new Map(), // thread id -> Set of reply ids
    thread: '', // the thread open in the panel
    source: null,
    loaded: false,
    boot: '', // the process the messages came from
  };

  // el makes an element: attributes (class, testid for data-testid, others as they are) and children
  // (nodes, or strings as text; null and false are skipped).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'testid') node.setAttribute('data-testid', value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function nameOf(id) {
    const u = state.users.find((x) => x.id === id);
    if (u) return u.name;
    if (state.me && state.me.id === id) return state.me.name;
    return id;
  }

  // rich renders the bot's text: ```blocks```, `code` spans, <@id> mentions, links and status emoji;
  // the rest is text.
  function rich(text) {
    const out = [];
    String(text || '').split('```').forEach((part, i) => {
      if (i % 2 === 1) out.push(el('pre', {}, part.replace(/^\n/, '').replace(/\n$/, '')));
      else out.push(...inline(part));
    });
    return out;
  }

  // INLINE finds, in order: a `code` span, a <@id> mention, a link (absolute, or a path on the console
  // such as the links /deliver history gives to threads), and a status emoji.
  const INLINE = new RegExp('`([^`\\n]+)`|<@([A-Za-z0-9._-]+)>|(\\bhttps?:\\/\\/[^\\s<>`]+|(?<!\\S)\\/\\?channel=[^\\s<>`]+)|(' +
    Object.keys(MARKS).join('|') + ')\\uFE0F?', 'gu');
  // Punctuation that ends a sentence rather than the link it follows.
  const LINK_TAIL = /[.,;:!?)\]]+$/;

  function inline(text) {
    const out = [];
    let last = 0;
    let m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      last = INLINE.lastIndex;
      if (m[1] !== undefined) {
        out.push(el('code', {}, m[1]));
      } else if (m[2] !== undefined) {
        out.push(el('span', { class: m[2] === state.user ? 'mention me' : 'mention', title: m[2] }, '@' + nameOf(m[2])));
      } else if (m[3] !== undefined) {
        const url = m[3].replace(LINK_TAIL, '');
        last = m.index + url.length;
        INLINE.lastIndex = last;
        out.push(link(url, url));
      } else {
        const lineStart = m.index === 0 || text[m.index - 1] === '\n';
        const verdict = lineStart && AUDIT_REST.test(text.slice(last)) ? AUDIT_VERDICT[m[4]] : '';
        const [kind, words] = MARKS[m[4]];
        out.push(mark(kind, verdict || words));
      }
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  // marks is text with its status emoji drawn as the console's icons, and nothing else interpreted.
  // With decorative set the icons are hidden from screen readers, for text that says it in words
  // already ("✅ Approve").
  function marks(text, decorative) {
    const out = [];
    const re = new RegExp('(' + Object.keys(MARKS).join('|') + ')\\uFE0F?', 'gu');
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      const [kind, words] = MARKS[m[1]];
      out.push(mark(kind, decorative ? '' : words));
      last = re.lastIndex;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  // mark is one status icon; words, when given, is what it says to screen readers and on hover.
  function mark(kind, words) {
    const icon = $('icons').content.querySelector(`[data-icon="${ICONS[kind] || kind}"]`).cloneNode(true);
    icon.setAttribute('aria-hidden', 'true');
    icon.setAttribute('focusable', 'false');
    return el('span', { class: 'mark mark-' + kind, 'data-mark': kind, title: words || null, 'aria-hidden': words ? null : 'true' },
      icon, words ? el('span', { class: 'vh' }, words) : null);
  }

  // link is an <a> to url, or the text alone when url is not http(s). A link to a message on this
  // channel's page opens it here (its thread in the panel) rather than loading the page again.
  function link(url, text) {
    const href = safeURL(url);
    if (!href) return text || url;
    const target = new URL(href);
    const inConsole = target.origin === location.origin && target.pathname === '/' && target.hash.startsWith('#m-');
    const a = el('a', { href, rel: inConsole ? null : 'noopener noreferrer', testid: inConsole ? 'message-link' : null }, text || url);
    if (inConsole) {
      a.addEventListener('click', (event) => {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        if ((target.searchParams.get('channel') || state.channel) !== state.channel) return;
        event.preventDefault();
        history.pushState(null, '', href);
        focusHash();
      });
    }
    return a;
  }

  function safeURL(raw) {
    try {
      const u = new URL(raw, location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch {
      return null;
    }
  }

  function clock(at) {
    const d = new Date(at);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function canAct() {
    return (state.mode === 'demo' && state.user !== '') || (state.mode === 'token' && state.me !== null);
  }

  // Rendering a message ---------------------------------------------------------------------------

  function statusLine(stages) {
    const line = el('div', { class: 'status-line', testid: 'status-line' });
    stages.forEach((s, i) => {
      if (i > 0) line.append(el('span', { class: 'sep', 'aria-hidden': 'true' }, ' · '));
      const [kind, words] = STATE_MARKS[s.state] || ['none', s.state];
      line.append(el('span', { class: 'stage state-' + s.state, testid: 'stage', 'data-stage': s.stage, 'data-state': s.state },
        s.stage + ' ', mark(kind, words), s.detail ? [' ', marks(s.detail)] : null));
    });
    return line;
  }

  function fields(list) {
    return el('dl', { class: 'fields' }, list.map((f) => el('div', { class: 'field' },
      el('dt', {}, f.label), el('dd', {}, rich(f.value)))));
  }

  // columnKind names a score table column for its layout: the objective and the criteria wrap, the
  // figures do not.
  function columnKind(name) {
    if (name === 'Objective') return 'objective';
    if (name === 'Status') return 'status';
    if (name === 'Score') return 'score';
    return /criteria$/i.test(name) ? 'criteria' : 'figure';
  }

  // scoreTable shows the objective, its status and its score first, then the figures and the criteria,
  // so that what matters is in view however narrow the thread panel is.
  function scoreTable(t) {
    const lead = LEAD_COLUMNS.map((c) => t.columns.indexOf(c)).filter((i) => i >= 0);
    const order = lead.concat(t.columns.map((_, i) => i).filter((i) => !lead.includes(i)));
    const kinds = t.columns.map(columnKind);
    const head = el('thead', {}, el('tr', {}, order.map((i) => el('th', { scope: 'col', class: 'col-' + kinds[i] }, t.columns[i]))));
    const body = el('tbody', {}, t.rows.map((row, r) => {
      const status = (t.status && t.status[r]) || '';
      return el('tr', { class: status ? 'row-' + status : null, 'data-status': status || null }, order.map((i) => {
        const cell = row[i] === undefined ? '' : row[i];
        switch (kinds[i]) {
          case 'objective':
            return el('th', { scope: 'row', class: 'col-objective' }, cell);
          case 'status':
            // The word says it; the icon is for the eye.
            return el('td', { class: 'col-status' }, ROW_MARKS[cell] ? [mark(ROW_MARKS[cell], ''), ' '] : null, cell);
          case 'criteria':
            // One criterion a line: they are what wraps when the panel is narrow.
            return el('td', { class: 'col-criteria' }, cell.split(', ').map((c) => el('span', { class: 'criterion' }, c)));
          default:
            return el('td', { class: 'col-' + kinds[i] }, cell);
        }
      }));
    }));
    return el('div', { class: 'table-wrap' },
      el('table', { class: 'score-table', testid: 'score-table' }, head, body),
      t.summary ? el('p', { class: 'table-summary' }, t.summary) : null);
  }

  function buttons(m) {
    const acting = canAct();
    return el('div', { class: 'actions' }, m.buttons.map((b) => {
      const btn = el('button', {
        type: 'button',
        class: 'btn' + (b.style ? ' ' + b.style : ''),
        testid: ACTION_TESTIDS[b.actionId] || 'action',
        'data-action': b.actionId,
        disabled: !acting,
        title: acting ? null : 'Pick who you are or log in to act',
      }, marks(b.label, true));
      btn.addEventListener('click', () => click(m, b, btn));
      return btn;
    }));
  }

  // codeBlock shows preformatted text, a diff's added and removed lines coloured, with its file name.
  function codeBlock(c) {
    const lines = c.text.replace(/\n$/, '').split('\n').map((line) => {
      let cls = 'line';
      if (c.language === 'diff') {
        if (line.startsWith('+++') || line.startsWith('---')) cls += ' file';
        else if (line.startsWith('+')) cls += ' add';
        else if (line.startsWith('-')) cls += ' del';
        else if (line.startsWith('@@')) cls += ' hunk';
      }
      return el('span', { class: cls }, line + '\n');
    });
    return el('figure', { class: 'code', testid: 'code' },
      c.filename ? el('figcaption', {}, c.filename) : null,
      el('pre', { 'data-language': c.language || null }, lines));
  }

  // body is what every message shows, wherever it is.
  function body(m) {
    const parts = [];
    if (m.header) parts.push(el('h3', { class: 'header' }, marks(m.header)));
    if (m.stages.length) parts.push(statusLine(m.stages));
    if (m.text) parts.push(el('div', { class: 'text' }, rich(m.text)));
    if (m.fields.length) parts.push(fields(m.fields));
    if (m.table) parts.push(scoreTable(m.table));
    if (m.code) parts.push(codeBlock(m.code));
    if (m.buttons.length) parts.push(buttons(m));
    if (m.links.length) {
      parts.push(el('ul', { class: 'links' }, m.links.map((l) => el('li', {}, link(l.url, l.text || l.url)))));
    }
    if (m.context.length) parts.push(el('div', { class: 'context' }, m.context.map((c) => el('p', {}, rich(c)))));
    return parts;
  }

  function replyCount(id) {
    const set = state.replies.get(id);
    return set ? set.size : 0;
  }

  // card is a message in the channel: a root card with its thread button, or a reply also shown in
  // the channel (an approval request).
  function card(m) {
    const delivery = /#(\d+)/.exec(m.header || '');
    const attrs = {
      class: 'card' + (m.root ? '' : ' broadcast'),
      id: 'm-' + m.id,
      testid: m.root ? 'card' : 'broadcast',
      'data-id': m.id,
      'data-seq': m.seq,
      'data-version': m.version,
      'data-delivery': m.root && delivery ? delivery[1] : null,
    };
    const foot = el('footer', { class: 'card-foot' }, el('time', { datetime: m.at, title: m.at }, clock(m.at)));
    if (m.root && m.thread) {
      const n = replyCount(m.id);
      const open = el('button', { type: 'button', class: 'link', testid: 'thread-open', 'data-count': n }, `thread (${n})`);
      open.addEventListener('click', () => openThread(m.id));
      foot.append(open);
    } else if (!m.root) {
      const root = state.messages.get(m.thread);
      const open = el('button', { type: 'button', class: 'link', testid: 'thread-open' },
        'in the thread of ' + ((root && root.header) || 'a delivery'));
      open.addEventListener('click', () => openThread(m.thread));
      foot.append(open);
    }
    return el('article', attrs, body(m), foot);
  }

  function reply(m) {
    return el('article', { class: 'reply', testid: 'reply', id: 'r-' + m.id, 'data-id': m.id, 'data-version': m.version },
      body(m), el('footer', { class: 'card-foot' }, el('time', { datetime: m.at, title: m.at }, clock(m.at))));
  }

  // The channel ------------------------------------------------------------------------------------

  function nearBottom(node) {
    return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
  }

  // followBottom keeps a scroller that was at its newest message there when its box changes size: a
  // note or toast taking room below it, the thread panel opening beside it, the window resized. Only
  // the person scrolling decides whether it follows: a scroll that comes with a change of size is the
  // browser's (keeping what was in view in place as the messages reflow), and does not count.
  function followBottom(scroller) {
    let stuck = true;
    let size = '';
    const measure = () => scroller.scrollHeight + 'x' + scroller.clientHeight;
    scroller.addEventListener('scroll', () => {
      const now = measure();
      if (now === size) stuck = nearBottom(scroller);
      else if (stuck) scroller.scrollTop = scroller.scrollHeight;
      size = measure();
    }, { passive: true });
    new ResizeObserver(() => {
      if (stuck) scroller.scrollTop = scroller.scrollHeight;
      size = measure();
    }).observe(scroller);
  }

  function placeInChannel(m, flash) {
    const list = $('messages');
    const stick = nearBottom(list);
    const node = card(m);
    if (flash) node.classList.add('flash');
    const old = list.querySelector(`[data-id="${CSS.escape(m.id)}"]`);
    if (old) {
      old.replaceWith(node);
    } else {
      const after = Array.from(list.querySelectorAll('.card')).find((c) => Number(c.dataset.seq) > m.seq);
      list.insertBefore(node, after || null);
    }
    $('empty').hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function shownInChannel(m) {
    return m.root || m.broadcast;
  }

  // receive keeps the newest version of a message and shows it where it belongs.
  function receive(m) {
    if (m.private) {
      if (!m.to || m.to === state.user) toast(m);
      return;
    }
    const old = state.messages.get(m.id);
    if (old && old.version >= m.version) return;
    state.messages.set(m.id, m);
    if (!m.root) {
      if (!state.replies.has(m.thread)) state.replies.set(m.thread, new Set());
      state.replies.get(m.thread).add(m.id);
    }
    if (shownInChannel(m)) placeInChannel(m, Boolean(old));
    if (!m.root) {
      const root = state.messages.get(m.thread);
      if (root) placeInChannel(root, false);
    }
    if (state.thread && (m.id === state.thread || m.thread === state.thread)) renderThread();
  }

  function renderAll() {
    const list = $('messages');
    list.querySelectorAll('.card').forEach((n) => n.remove());
    const shown = Array.from(state.messages.values()).filter(shownInChannel).sort((a, b) => a.seq - b.seq);
    shown.forEach((m) => placeInChannel(m, false));
    $('empty').hidden = shown.length > 0;
    if (state.thread) renderThread();
  }

  // The thread panel -------------------------------------------------------------------------------

  function openThread(id) {
    state.thread = id;
    $('thread-panel').hidden = false;
    $('layout').classList.add('with-thread');
    renderThread();
    const replies = $('thread-body');
    replies.scrollTop = replies.scrollHeight;
  }

  function closeThread() {
    state.thread = '';
    $('thread-panel').hidden = true;
    $('layout').classList.remove('with-thread');
    $('thread-toasts').replaceChildren();
  }

  function renderThread() {
    const root = state.messages.get(state.thread);
    const scroller = $('thread-body');
    const stick = nearBottom(scroller);
    $('thread-title').textContent = (root && root.header) || 'Thread';
    $('thread-root').replaceChildren(root
      ? el('article', { class: 'thread-root', testid: 'thread-root', 'data-id': root.id }, body(root))
      : el('p', { class: 'muted' }, 'This thread started before the console restarted.'));
    const ids = Array.from(state.replies.get(state.thread) || []);
    const replies = ids.map((id) => state.messages.get(id)).filter(Boolean).sort((a, b) => a.seq - b.seq);
    $('thread-replies').replaceChildren(...(replies.length ? replies.map(reply) : [el('p', { class: 'muted' }, 'No replies yet.')]));
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  // Notes and toasts: what only this browser sees ---------------------------------------------------

  // toast shows m (a message, or a line of text) to this browser only, for a while, at the bottom of a
  // column: the thread panel's when where is 'thread' (the button clicked was there) and the panel is
  // still open, else the channel's. Toasts take their own room there rather than floating over the
  // page, so that none ever covers a control or a message.
  function toast(m, kind, where) {
    const inThread = where === 'thread' && state.thread !== '';
    const box = el('div', { class: 'toast' + (kind ? ' ' + kind : ''), testid: 'toast', role: 'status' },
      typeof m === 'string' ? el('div', { class: 'text' }, rich(m)) : body(m));
    const close = el('button', { type: 'button', class: 'icon', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => box.remove());
    box.prepend(close);
    $(inThread ? 'thread-toasts' : 'toasts').append(box);
    setTimeout(() => box.remove(), TOAST_MS);
  }

  function note(m) {
    const box = $('composer-note');
    const close = el('button', { type: 'button', class: 'icon', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => { box.hidden = true; });
    box.replaceChildren(close, el('p', { class: 'muted small' }, 'Only you can see this.'), ...body(m));
    box.hidden = false;
  }

  // Talking to shipgate ----------------------------------------------------------------------------

  async function post(path, payload) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
    let data = {};
    try {
      data = await res.json();
    } catch {
      data = {};
    }
    if (!res.ok) throw new Error(data.error || `${res.status} ${res.statusText}`);
    return data;
  }

  function actingAs() {
    return state.mode === 'token' ? '' : state.user;
  }

  async function send(text) {
    const data = await post('/web/command', { channel: state.channel, user: actingAs(), text });
    if (!data.public) note(data.reply);
    else $('composer-note').hidden = true;
  }

  let pendingReject = null;

  // columnOf names the column a button is in, for the toast that answers its click; it is read when
  // the click happens, since the answer often replaces the button.
  function columnOf(node) {
    return node.closest('#thread-panel') ? 'thread' : 'channel';
  }

  async function click(m, b, btn) {
    const where = columnOf(btn);
    if (!canAct()) {
      toast('Pick who you are or log in first.', 'error', where);
      return;
    }
    if (b.confirm && !(await confirmed(b))) return;
    btn.disabled = true;
    try {
      const data = await post('/web/click', {
        channel: state.channel, user: actingAs(), messageId: m.id, actionId: b.actionId, value: b.value,
      });
      answered(data, { messageId: m.id, actionId: b.actionId, where });
    } catch (err) {
      toast(err.message, 'error', where);
    } finally {
      btn.disabled = false;
    }
  }

  // confirmed asks, in the console's own dialog, what a button's confirmation asks (Approve's "Promote
  // … to production."), and resolves to whether the person said yes. Closing it any other way (Cancel,
  // Escape) is a no.
  function confirmed(b) {
    const c = b.confirm;
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = c.title || b.label;
    $('confirm-text').replaceChildren(...rich(c.text));
    $('confirm-submit').textContent = c.yes || 'OK';
    $('confirm-submit').className = b.style === 'danger' ? 'danger' : 'primary';
    $('confirm-cancel').textContent = c.no || 'Cancel';
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
      dialog.showModal();
    });
  }

  function answered(data, click) {
    if (data.askReason) {
      pendingReject = { ...click, value: data.askReason.value };
      $('reason-title').textContent = data.askReason.title || 'Reject';
      $('reason-summary').textContent = data.askReason.summary || '';
      $('reason-input').value = '';
      $('reason-dialog').showModal();
      $('reason-input').focus();
    }
    if (data.private) toast(data.private, '', click.where);
  }

  async function submitReason(event) {
    event.preventDefault();
    const reason = $('reason-input').value.trim();
    if (!reason || !pendingReject) return;
    const req = pendingReject;
    $('reason-submit').disabled = true;
    try {
      const data = await post('/web/click', {
        channel: state.channel, user: actingAs(), messageId: req.messageId, actionId: req.actionId, value: req.value,
        reason, reasonGiven: true,
      });
      pendingReject = null;
      $('reason-dialog').close();
      answered(data, req);
    } catch (err) {
      toast(err.message, 'error', req.where);
    } finally {
      $('reason-submit').disabled = false;
    }
  }

  async function loadState() {
    const q = new URLSearchParams();
    if (state.channel) q.set('channel', state.channel);
    const res = await fetch('/web/state?' + q, { credentials: 'same-origin' });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || `${res.status} ${res.statusText}`);
    const first = !state.loaded;
    state.loaded = true;
    state.channel = data.channel;
    state.channels = data.channels;
    state.mode = data.mode;
    state.users = data.users;
    state.me = data.me;
    if (first) setupIdentity();
    const restarted = state.boot !== '' && state.boot !== data.boot;
    state.boot = data.boot;
    if (restarted) {
      // shipgate restarted: its versions count again from 1, and what it shows now is all there is.
      state.messages.clear();
      state.replies.clear();
    }
    data.messages.forEach(receive);
    if (restarted) renderAll();
    if (first) {
      showChannels();
      renderAll();
      focusHash();
    }
  }

  function connect() {
    if (state.source) state.source.close();
    const q = new URLSearchParams({ channel: state.channel });
    if (state.mode === 'demo' && state.user) q.set('user', state.user);
    const source = new EventSource('/web/events?' + q);
    state.source = source;
    source.onopen = () => {
      setConnection('live', 'live');
      // Whatever changed while the page was not connected is in the state.
      loadState().catch((err) => setConnection('error', err.message));
    };
    source.onmessage = (e) => {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch {
        return;
      }
      if (ev.type === 'message') receive(ev.message);
    };
    source.onerror = () => {
      setConnection('reconnecting', 'reconnecting…');
      if (source.readyState === EventSource.CLOSED && state.source === source) setTimeout(connect, 5000);
    };
  }

  function setConnection(kind, text) {
    const c = $('connection');
    c.dataset.state = kind;
    c.textContent = text;
  }

  // Identity ---------------------------------------------------------------------------------------

  function setupIdentity() {
    $('demo-identity').hidden = state.mode !== 'demo';
    $('read-only').hidden = state.mode !== 'read-only';
    if (state.mode === 'demo') {
      const picker = $('user-picker');
      picker.replaceChildren(...state.users.map((u) => el('option', { value: u.id }, u.name)));
      const saved = localStorage.getItem('shipgate.user');
      state.user = state.users.some((u) => u.id === saved) ? saved : (state.users[0] ? state.users[0].id : '');
      picker.value = state.user;
      showUserNote();
    }
    showLogin();
    showComposer();
  }

  function showUserNote() {
    const u = state.users.find((x) => x.id === state.user);
    $('user-note').textContent = u && u.note ? u.note : '';
  }

  function showLogin() {
    const token = state.mode === 'token';
    $('login-form').hidden = !token || state.me !== null;
    $('logged-in').hidden = !token || state.me === null;
    if (token && state.me) {
      state.user = state.me.id;
      $('me-name').textContent = state.me.name;
    }
  }

  function showComposer() {
    const input = $('composer-input');
    const acting = canAct();
    input.disabled = !acting;
    $('composer-send').disabled = !acting;
    if (!acting) {
      input.placeholder = state.mode === 'read-only' ? 'The console is read-only' : 'Log in to send commands';
    } else {
      input.placeholder = '/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1';
    }
  }

  function showChannels() {
    $('channel-name').textContent = '# ' + state.channel;
    document.title = '#' + state.channel + ' · shipgate';
    $('channels').replaceChildren(...state.channels.map((ch) => el('li', {},
      el('a', { href: '?channel=' + encodeURIComponent(ch), class: ch === state.channel ? 'current' : null,
        'aria-current': ch === state.channel ? 'page' : null }, '# ' + ch))));
  }

  function identityChanged() {
    showLogin();
    showComposer();
    renderAll();
    connect();
  }

  // focusHash shows the message a link's #m-ID names (the console's permalinks, /deliver history's
  // thread links): a delivery's card with its thread open in the panel.
  function focusHash() {
    if (!location.hash.startsWith('#m-')) return;
    let id = '';
    try {
      id = decodeURIComponent(location.hash.slice(3));
    } catch {
      id = ''; // a mangled link names no message
    }
    if (!state.messages.has(id)) {
      toast('That message is not in #' + state.channel + ' any more.', 'error');
      return;
    }
    const m = state.messages.get(id);
    if (!m.root) openThread(m.thread);
    else if (m.thread) openThread(m.id);
    const node = document.getElementById('m-' + (m.root ? m.id : m.thread));
    if (node) {
      node.scrollIntoView({ block: 'center' });
      node.classList.add('flash');
    }
  }

  // Wiring -----------------------------------------------------------------------------------------

  function wire() {
    $('composer').addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = $('composer-input');
      const text = input.value.trim();
      if (!text) return;
      $('composer-send').disabled = true;
      try {
        await send(text);
        input.value = '';
      } catch (err) {
        toast(err.message, 'error');
      } finally {
        $('composer-send').disabled = !canAct();
        input.focus();
      }
    });
    $('user-picker').addEventListener('change', (event) => {
      state.user = event.target.value;
      localStorage.setItem('shipgate.user', state.user);
      showUserNote();
      identityChanged();
    });
    $('login-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const data = await post('/web/login', { name: $('login-name').value.trim(), token: $('login-token').value });
        $('login-token').value = '';
        state.me = data.me;
        identityChanged();
      } catch (err) {
        toast(err.message, 'error');
      }
    });
    $('logout').addEventListener('click', async () => {
      try {
        await post('/web/logout', {});
      } catch (err) {
        toast(err.message, 'error');
      }
      state.me = null;
      state.user = '';
      identityChanged();
    });
    $('thread-close').addEventListener('click', closeThread);
    $('reason-form').addEventListener('submit', submitReason);
    $('reason-cancel').addEventListener('click', () => {
      pendingReject = null;
      $('reason-dialog').close();
    });
    $('confirm-cancel').addEventListener('click', () => $('confirm-dialog').close());
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && state.thread && !$('reason-dialog').open && !$('confirm-dialog').open) closeThread();
    });
    followBottom($('messages'));
    followBottom($('thread-body'));
    window.addEventListener('hashchange', focusHash);
  }

  async function start() {
    wire();
    try {
      await loadState();
    } catch (err) {
      setConnection('error', err.message);
      return;
    }
    connect();
  }

  start();
})();
