// Batch page: refresh the progress part every two seconds until every file is finished.
"use strict";
(function () {
  const section = document.getElementById("batch-progress");
  if (!section) return;
  async function refresh() {
    if (section.querySelector('[data-finished="true"]')) return;
    try {
      const response = await fetch(section.dataset.rows, { credentials: "same-origin" });
      if (response.redirected || response.status === 401) { window.location.reload(); return; }
      if (response.ok) section.innerHTML = await response.text();
    } catch (_) { /* offline for a moment: try again */ }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 1500);
})();
