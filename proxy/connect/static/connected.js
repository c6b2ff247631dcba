// The "connected" page hands the one-time connect_code to the window that
// opened it, and only to the tenant's own origins (its return_urls): a page
// of any other origin that opened this one receives nothing.
(function () {
  "use strict";
  var node = document.getElementById("shoprelay-connect");
  if (!node || !window.opener) {
    return;
  }
  var handoff = JSON.parse(node.textContent);
  handoff.origins.forEach(function (origin) {
    try {
      window.opener.postMessage(handoff.message, origin);
    } catch (error) {
      // The opener navigated away or is closed: nothing to tell.
    }
  });
})();
