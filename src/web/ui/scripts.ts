// The admin UI's browser behaviour, served as one static script (/assets/admin.js) because the Content-Security-Policy
// allows no inline script (web/security-headers.ts). Plain ES5 text run as written, no build step. Each part looks for its
// elements and does nothing on pages without them.
import { MAX_CONDITIONS } from '../../delivery/segments.js';

// Forms with data-confirm ask before they are sent (連携を解除, 配信する, 削除, 取消).
const confirmForms = `
document.addEventListener('submit', function (e) {
  var form = e.target;
  if (form && form.getAttribute && form.hasAttribute('data-confirm') && !window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();
});
`;

// 友だち › CSVインポート: posts the file as-is (the server detects its encoding) to the JSON API with the session's CSRF token.
const importFriends = `
(function () {
  var form = document.getElementById('import-form');
  if (!form) return;
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var file = document.getElementById('import-file').files[0];
    var out = document.getElementById('import-result');
    if (!file) return;
    out.textContent = 'インポートしています…';
    fetch('/api/v1/friends/import', { method: 'POST', body: file, credentials: 'same-origin',
      headers: { 'content-type': 'text/csv', 'x-csrf-token': document.querySelector('meta[name=csrf-token]').content } })
      .then(function (r) { return r.json(); })
      .then(function (b) {
        if (b.error) { out.textContent = 'インポートできませんでした: ' + b.error.message; return; }
        var total = typeof b.errorCount === 'number' ? b.errorCount : b.errors.length;
        var lines = ['新規 ' + b.created + '件、更新 ' + b.updated + '件、変更なし ' + b.unchanged + '件、エラー ' + total + '件'];
        if (total > b.errors.length) lines.push('（最初の ' + b.errors.length + '件を表示しています）');
        b.errors.forEach(function (x) { lines.push(x.line + '行目: ' + x.message); });
        out.textContent = lines.join('\\n');
      }, function () { out.textContent = '通信できませんでした。もう一度お試しください。'; });
  });
})();
`;

// セグメント配信 › 新しいセグメント: keeps each row's operator and value input to what the chosen field's type takes; adds and
// removes rows.
const segmentConditions = `
(function () {
  var box = document.getElementById('conditions');
  if (!box) return;
  function sync(row) {
    var f = row.querySelector('.cond-field'), op = row.querySelector('.cond-op'), v = row.querySelector('.cond-value');
    var type = f.selectedOptions[0] && f.selectedOptions[0].getAttribute('data-type');
    Array.prototype.forEach.call(op.options, function (o) {
      var ok = !type || o.getAttribute('data-types').split(' ').indexOf(type) >= 0;
      o.disabled = !ok; o.hidden = !ok;
    });
    if (op.selectedOptions[0] && op.selectedOptions[0].disabled) {
      var first = Array.prototype.find.call(op.options, function (o) { return !o.disabled; });
      if (first) op.value = first.value;
    }
    var noValue = op.value === 'exists' || op.value === 'not_exists';
    v.disabled = noValue; if (noValue) v.value = '';
    v.type = op.value === 'within_days' || type === 'number' ? 'number' : type === 'date' ? 'date' : 'text';
    v.step = 'any'; if (op.value === 'within_days') { v.step = '1'; v.min = '0'; } else { v.removeAttribute('min'); }
    v.placeholder = op.value === 'within_days' ? '日数' : '値';
  }
  function wire(row) {
    row.querySelector('.cond-field').addEventListener('change', function () { sync(row); });
    row.querySelector('.cond-op').addEventListener('change', function () { sync(row); });
    row.querySelector('.cond-remove').addEventListener('click', function () {
      if (box.querySelectorAll('.cond').length > 1) row.remove(); else { row.querySelector('.cond-field').value = ''; sync(row); }
    });
    sync(row);
  }
  Array.prototype.forEach.call(box.querySelectorAll('.cond'), wire);
  document.getElementById('cond-add').addEventListener('click', function () {
    var rows = box.querySelectorAll('.cond');
    if (rows.length >= ${MAX_CONDITIONS}) return;
    var row = rows[rows.length - 1].cloneNode(true);
    row.querySelector('.cond-field').value = ''; row.querySelector('.cond-value').value = '';
    box.appendChild(row); wire(row);
  });
})();
`;

export const adminScript = [confirmForms, importFriends, segmentConditions].join('\n');
