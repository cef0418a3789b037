// Lookout's one plain script (no inline scripts: CSP-friendly; works without the wasm bundle).
// - Copy buttons on runbook code blocks. Without JavaScript the code is still selectable.
// - The offline service worker (/sw.js): runbook pages and the last status page this browser
//   saw stay readable when the server cannot be reached.
(function () {
  'use strict';

  function addCopyButton(pre) {
    if (pre.closest('.code-block')) return;
    var code = pre.querySelector('code') || pre;
    var wrapper = document.createElement('div');
    wrapper.className = 'code-block';
    pre.parentNode.insertBefore(wrapper, pre);
    wrapper.appendChild(pre);
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-button';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy this code');
    button.addEventListener('click', function () {
      var text = code.textContent;
      var done = function (label, ok) {
        button.textContent = label;
        button.classList.toggle('copied', ok);
        setTimeout(function () {
          button.textContent = 'Copy';
          button.classList.remove('copied');
        }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () { done('Copied', true); },
          function () { done('Select and copy', false); }
        );
      } else {
        done('Select and copy', false);
      }
    });
    wrapper.appendChild(button);
  }

  function addCopyButtons() {
    document.querySelectorAll('.runbook-body pre').forEach(addCopyButton);
  }

  addCopyButtons();
  // Runbooks opened by in-page navigation (hydrated) arrive later: watch for them.
  if ('MutationObserver' in window) {
    new MutationObserver(addCopyButtons).observe(document.body, { childList: true, subtree: true });
  }

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function (error) {
      console.warn('Lookout: offline copies are not available:', error);
    });
    // On the runbook list, keep every listed runbook for offline reading.
    var listed = Array.prototype.map.call(document.querySelectorAll('a.runbook-title'), function (a) {
      return a.getAttribute('href');
    });
    if (listed.length) {
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) {
          registration.active.postMessage({ type: 'keep-pages', urls: listed });
        }
      });
    }
  }
})();
