/* upperback's page script (Voilà template "upperback"). Does what only the browser can:
 * - landmarks: the page content is the main landmark;
 * - answer buttons: aria-pressed and a labelled group per question; arrow keys move within a
 *   question, Tab goes from question to question;
 * - honest when disconnected: when the kernel stops or its websocket closes, a banner says at
 *   once that the results are out of date, the answers are disabled, and "Reconnect" reloads
 *   the page and puts the answers back;
 * - the answers are kept in this page's sessionStorage only (never on the server), from the
 *   kernel's `.ub-state` element, and handed back through the hidden `.ub-restore` field;
 * - leaving or reloading a page with answers asks first;
 * - printing opens every disclosure.
 */
(function () {
  'use strict';
  var KEY = 'upperback:state:' + location.pathname;
  var PENDING = 'upperback:restore:' + location.pathname;
  var state = { lost: false, reloading: false, count: 0, sockets: new Set(), seen: false };

  /* -- the kernel's end --------------------------------------------------------------------
   * Voilà asks the server to shut the kernel down when the page is left, sending the page's
   * `_xsrf` cookie as its token; the standalone server never sets that cookie, so the request
   * was refused (403) and the kernel, with the answers, lived on until culled. A random
   * same-site token makes the double-submitted pair agree. */
  if (!/(^|;\s*)_xsrf=/.test(document.cookie) && window.crypto && window.crypto.getRandomValues) {
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    var token = Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('');
    document.cookie = '_xsrf=' + token + '; path=/; SameSite=Strict';
  }

  /* -- the kernel connection ------------------------------------------------------------- */
  var DEAD = /"execution_state"\s*:\s*"(dead|restarting|autorestarting)"/;
  var decoder = typeof TextDecoder === 'function' ? new TextDecoder() : null;
  var NativeWebSocket = window.WebSocket;
  function isKernelSocket(url) { return /\/api\/kernels\/[^/]+\/channels/.test(String(url)); }
  function WatchedWebSocket(url, protocols) {
    var ws = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    if (isKernelSocket(url)) {
      state.sockets.add(ws);
      state.seen = true;
      ws.addEventListener('close', function () {
        state.sockets.delete(ws);
        // Another socket of ours still open (e.g. a second client) means the page is fine.
        if (state.sockets.size === 0) { lost('The connection to the server was lost.'); }
      });
      ws.addEventListener('message', function (e) {
        var text = '';
        if (typeof e.data === 'string') { text = e.data; }
        else if (decoder && e.data instanceof ArrayBuffer) { text = decoder.decode(e.data); }
        if (text.indexOf('execution_state') >= 0 && DEAD.test(text)) {
          lost('The kernel behind this page stopped.');
        }
      });
    }
    return ws;
  }
  WatchedWebSocket.prototype = NativeWebSocket.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) {
    WatchedWebSocket[k] = NativeWebSocket[k];
  });
  window.WebSocket = WatchedWebSocket;

  // A dashboard is one app; a lesson is several panels, each its own app.
  function apps() { return document.querySelectorAll('.ub-app'); }

  function lost(why) {
    if (state.lost || state.reloading) { return; }
    state.lost = true;
    var root = apps()[0];
    var box = document.createElement('div');
    box.className = 'ub-offline';
    box.setAttribute('role', 'alert');
    var kept = state.count > 0 ? ' Your answers are kept in this browser.' : '';
    box.appendChild(document.createTextNode(why + ' The results on this page are out of date and '
      + 'the answers are disabled.' + kept + ' '));
    var again = document.createElement('button');
    again.type = 'button';
    again.className = 'ub-reconnect';
    again.textContent = 'Reconnect' + (state.count > 0 ? ' and restore the answers' : '');
    again.addEventListener('click', function () {
      if (state.count > 0) { sessionStorage.setItem(PENDING, '1'); }
      state.reloading = true;
      location.reload();
    });
    box.appendChild(again);
    if (root) {
      root.insertBefore(box, root.firstChild);
      apps().forEach(function (one) {
        one.classList.add('ub-disconnected');
        one.querySelectorAll('button, input, select, textarea').forEach(function (el) {
          if (!el.classList.contains('ub-reconnect')) { el.disabled = true; }
        });
      });
    } else {
      document.body.insertBefore(box, document.body.firstChild);
    }
    again.focus();
  }

  /* -- answer buttons: state for assistive technology, keys ------------------------------ */
  function dress(root) {
    root.querySelectorAll('.ub-question').forEach(function (row) {
      var group = row.querySelector('.ub-answer');
      var label = row.querySelector('.ub-qlabel');
      if (group && label) {
        group.setAttribute('role', 'group');
        group.setAttribute('aria-labelledby', label.id);
      }
      var buttons = row.querySelectorAll('button');
      var current = row.querySelector('.ub-answer button.mod-active') || buttons[0];
      buttons.forEach(function (b) {
        if (group && group.contains(b)) {
          b.setAttribute('aria-pressed', b.classList.contains('mod-active') ? 'true' : 'false');
        }
        // one Tab stop per question (roving tabindex); arrows reach the others
        b.tabIndex = b === current ? 0 : -1;
      });
    });
  }
  document.addEventListener('focusin', function (e) {
    var row = e.target.closest && e.target.closest('.ub-question');
    if (!row) { return; }
    row.querySelectorAll('button').forEach(function (b) { b.tabIndex = b === e.target ? 0 : -1; });
  });
  document.addEventListener('keydown', function (e) {
    var row = e.target.closest && e.target.closest('.ub-question');
    if (!row || e.target.tagName !== 'BUTTON') { return; }
    var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) { return; }
    var buttons = Array.prototype.filter.call(row.querySelectorAll('button'),
      function (b) { return !b.disabled; });
    var i = buttons.indexOf(e.target);
    if (i < 0) { return; }
    e.preventDefault();
    buttons[(i + step + buttons.length) % buttons.length].focus();
  });

  /* -- answers kept in the browser ------------------------------------------------------- */
  function keep(root) {
    var el = root.querySelector('.ub-state-data');
    if (!el || !restored) { return; }  // what was kept is handed back before it is replaced
    state.count = parseInt(el.getAttribute('data-count') || '0', 10) || 0;
    try {
      if (state.count > 0) { sessionStorage.setItem(KEY, el.getAttribute('data-state')); }
      else { sessionStorage.removeItem(KEY); }
    } catch (err) { /* storage full or blocked: nothing is kept */ }
  }
  var restored = false;
  function restore(root) {
    if (restored) { return; }
    var field = root.querySelector('.ub-restore input');
    if (!field) { return; }
    restored = true;
    var kept = sessionStorage.getItem(KEY);
    var pending = sessionStorage.getItem(PENDING);
    sessionStorage.removeItem(PENDING);
    if (!kept) { return; }
    if (pending) { hand(field, kept); return; }
    offer(root, field, kept); // a plain reload: offer, never restore silently
  }
  function hand(field, kept) {
    field.value = kept;
    field.dispatchEvent(new Event('input', { bubbles: true }));
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  }
  function offer(root, field, kept) {
    var n = 0;
    try { n = Object.keys(JSON.parse(kept).answers || {}).length; } catch (err) { return; }
    if (!n) { return; }
    var box = document.createElement('div');
    box.className = 'ub-ok ub-restore-offer';
    box.setAttribute('role', 'status');
    box.appendChild(document.createTextNode('This browser kept ' + n + ' answers from before the '
      + 'page was reloaded. '));
    var yes = document.createElement('button');
    yes.type = 'button';
    yes.textContent = 'Restore them';
    var no = document.createElement('button');
    no.type = 'button';
    no.textContent = 'Start a new assessment';
    yes.addEventListener('click', function () { hand(field, kept); box.remove(); });
    no.addEventListener('click', function () { sessionStorage.removeItem(KEY); box.remove(); });
    box.appendChild(yes);
    box.appendChild(no);
    root.insertBefore(box, root.firstChild);
  }

  window.addEventListener('beforeunload', function (e) {
    if (state.reloading || state.count === 0) { return undefined; }
    e.preventDefault();
    e.returnValue = '';  // the browser shows its own "leave this page?" question
    return '';
  });
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details:not([open])').forEach(function (d) {
      d.setAttribute('open', '');
      d.setAttribute('data-ub-print-opened', '');
    });
  });
  window.addEventListener('afterprint', function () {
    document.querySelectorAll('details[data-ub-print-opened]').forEach(function (d) {
      d.removeAttribute('open');
      d.removeAttribute('data-ub-print-opened');
    });
  });

  /* -- wiring ---------------------------------------------------------------------------- */
  var pending = false;
  function update() {
    pending = false;
    var main = document.getElementById('rendered_cells');
    if (main && !main.hasAttribute('role')) {
      main.setAttribute('role', 'main');
    }
    if (!apps().length) { return; }
    dress(document);
    // the app that holds the restore field and the state is the one that keeps answers
    var field = document.querySelector('.ub-restore');
    var keeper = field && field.closest('.ub-app');
    if (keeper) { restore(keeper); keep(keeper); }
  }
  function schedule() {
    if (!pending) { pending = true; window.requestAnimationFrame(update); }
  }
  document.addEventListener('DOMContentLoaded', function () {
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ['class', 'data-state']
    });
    schedule();
  });
}());
