// The email page's browser script, kept as plain ES2017 text: it runs in LINE's in-app browser as written, with no build step.
// It reads its settings from the page's JSON block, talks only to the LIFF SDK and to the page's own POST URL, and writes
// text with textContent only. The promise it leaves on window.kizunaLiffEmail lets tests wait for the outcome.
export const liffPageScript = String.raw`(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kizuna-liff-config').textContent);
  var M = config.messages;
  var loginKey = 'kizuna-liff-login:' + config.tenantId;
  var helpFor = { noEmail: 'noEmailHelp', notFriend: 'notFriendHelp', outsideLine: 'outsideLineHelp', success: 'successDetail' };
  var retryable = { unavailable: true, failed: true };
  var inClient = false;

  function el(id) { return document.getElementById(id); }

  function show(state, key, extra) {
    el('page').setAttribute('data-state', state);
    el('spinner').hidden = state !== 'busy';
    el('message').textContent = M[key];
    var help = helpFor[key] ? M[helpFor[key]] : '';
    el('help').textContent = help;
    el('help').hidden = !help;
    el('detail').textContent = extra || '';
    el('detail').hidden = !extra;
    el('retry').hidden = !retryable[key];
    el('close').hidden = state === 'busy' || !inClient;
    el('open-in-line').hidden = true;
  }

  function safe(f) { try { return f(); } catch (e) { return false; } }

  function submit(idToken) {
    show('busy', 'sending');
    return fetch(config.postUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ idToken: idToken }),
      credentials: 'same-origin'
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (res.ok) {
          show('done', 'success', body && typeof body.email === 'string' ? M.registeredAs + body.email : '');
          return 'success';
        }
        var code = body && body.error && typeof body.error.code === 'string' ? body.error.code : '';
        show('error', config.codes[code] || 'failed');
        return code || 'HTTP_' + res.status;
      });
    }, function () {
      show('error', 'unavailable');
      return 'NETWORK_ERROR';
    });
  }

  function run() {
    if (!window.liff) { show('error', 'failed'); return Promise.resolve('SDK_MISSING'); }
    return liff.init({ liffId: config.liffId }).then(function () {
      inClient = liff.isInClient();
      if (!inClient) {
        show('error', 'outsideLine');
        // The permanent link opens this LIFF app in LINE; it is built by the SDK, so the page itself names no LINE URL.
        return liff.permanentLink.createUrlBy(location.href).then(function (url) {
          var link = el('open-in-line');
          link.href = url;
          link.hidden = false;
          return 'OUTSIDE_LINE';
        }, function () { return 'OUTSIDE_LINE'; });
      }
      if (!liff.isLoggedIn()) {
        // One login round trip at most: coming back still logged out means login cannot work here, and looping would hide that.
        if (sessionStorage.getItem(loginKey)) {
          sessionStorage.removeItem(loginKey);
          show('error', 'invalid');
          return 'LOGIN_FAILED';
        }
        sessionStorage.setItem(loginKey, '1');
        liff.login({ redirectUri: location.href });
        return 'LOGIN_REDIRECT';
      }
      sessionStorage.removeItem(loginKey);
      var idToken = liff.getIDToken();
      // No ID token means the LIFF app lacks the openid scope: an operator's setting, nothing the user can fix.
      if (!idToken) { show('error', 'notConfigured'); return 'NO_ID_TOKEN'; }
      return submit(idToken);
    }, function () {
      // A wrong LIFF ID and a dropped connection look the same from here; offering a retry serves the user in both cases.
      show('error', 'unavailable');
      return 'INIT_FAILED';
    });
  }

  el('retry').addEventListener('click', function () {
    var idToken = inClient && safe(function () { return liff.getIDToken(); });
    // Without a token there is nothing to resend; a reload runs liff.init afresh, which cannot be called twice in one page.
    if (idToken) window.kizunaLiffEmail = submit(idToken);
    else location.reload();
  });
  el('close').addEventListener('click', function () { liff.closeWindow(); });

  window.kizunaLiffEmail = run();
})();
`;
