// Review: the page image with the words tesseract was unsure of, zoom, and one key per decision.
// Every decision goes through the audited JSON API; then the next document of the queue appears.
"use strict";
(function () {
  const root = document.getElementById("review");
  if (!root) return;
  const id = root.dataset.id;
  const words = document.getElementById("review-words").dataset;
  const message = document.getElementById("review-message");
  const sheet = document.getElementById("sheet");
  const image = document.getElementById("page-image");
  const viewer = document.getElementById("viewer");
  const zooms = [100, 150, 200, 300];
  let zoom = 0;

  const say = (text, bad) => { message.textContent = text; message.className = bad ? "notice" : "ok-notice"; };
  const failed = (error) => say(words.failed + " " + (error.message || "") + " (" + (error.code || "?") + ")", true);
  const next = () => { window.location = "/review?after=" + encodeURIComponent(id); };
  const again = () => { window.location = "/review?id=" + encodeURIComponent(id) + "&page=" + root.dataset.page; };
  const after = (record) => (record && record.status !== "needs_review" ? next() : again());

  // --- the page image: zoom and the unsure words -------------------------------------------------
  function setZoom(step) {
    if (!sheet) return;
    zoom = Math.max(0, Math.min(zooms.length - 1, step));
    sheet.className = "sheet z" + zooms[zoom];
    const width = zooms[zoom] <= 100 ? 1000 : zooms[zoom] <= 150 ? 1600 : 2400;
    const wanted = image.dataset.base + ".png?w=" + width;
    if (!image.src.endsWith(wanted)) image.src = wanted;
  }
  async function markUnsure() {
    if (!sheet) return;
    try {
      const found = await sohoa.api("GET", image.dataset.base + "/unsure.json");
      for (const word of found.words) {
        const box = document.createElement("span");
        box.className = "low";
        box.title = word.text + " · " + Math.round(word.confidence * 100) + " %";
        box.style.left = (word.left * 100) + "%";
        box.style.top = (word.top * 100) + "%";
        box.style.width = (word.width * 100) + "%";
        box.style.height = (word.height * 100) + "%";
        sheet.appendChild(box);
      }
      document.getElementById("unsure-count").textContent = words.unsure.replace("{count}", found.words.length);
    } catch (error) { /* the image still shows */ }
  }
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(zoom + 1));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(zoom - 1));
  document.getElementById("show-unsure").addEventListener("change", (e) => viewer.classList.toggle("hide-unsure", !e.target.checked));
  setZoom(0);
  markUnsure();

  // --- decisions ---------------------------------------------------------------------------------
  async function choose(procedure) {
    try {
      await sohoa.api("PUT", "/api/v1/documents/" + id + "/procedure", { procedure });
      const record = await sohoa.api("POST", "/api/v1/documents/" + id + "/accept");
      say(words.saved);
      after(record);
    } catch (error) { failed(error); }
  }
  // accepting confirms the procedure shown (a confirmation counts toward retraining like a correction)
  async function accept() {
    const procedure = root.dataset.procedure || root.dataset.top;
    if (procedure) return choose(procedure);
    if (root.dataset.needsProcedure === "true") { say(words.pick, true); document.getElementById("procedure-search").focus(); return; }
    try { after(await sohoa.api("POST", "/api/v1/documents/" + id + "/accept")); } catch (error) { failed(error); }
  }
  document.getElementById("accept").addEventListener("click", accept);
  document.querySelectorAll("button.choose").forEach((button) => button.addEventListener("click", () => choose(button.dataset.procedure)));

  // another procedure: search the catalog as the person types
  const search = document.getElementById("procedure-search");
  const options = document.getElementById("procedure-options");
  let found = [];
  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const answer = await sohoa.api("GET", "/api/v1/procedures?limit=15&q=" + encodeURIComponent(search.value));
        found = answer.procedures;
        options.replaceChildren(...found.map((p) => { const o = document.createElement("option"); o.value = p.name; o.label = p.code || p.id; return o; }));
      } catch (error) { failed(error); }
    }, 150);
  });
  document.getElementById("procedure-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = search.value.trim();
    if (!typed) return;
    let match = found.find((p) => p.name === typed || p.id === typed || p.code === typed);
    if (!match) {
      try { match = (await sohoa.api("GET", "/api/v1/procedures?limit=1&q=" + encodeURIComponent(typed))).procedures[0]; } catch (error) { return failed(error); }
    }
    if (!match) { say(words.pick, true); return; }
    choose(match.id);
  });

  document.getElementById("dossier-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = document.getElementById("dossier-code").value.trim();
    try { after(await sohoa.api("PUT", "/api/v1/documents/" + id + "/dossier", { dossier: code || null })); } catch (error) { failed(error); }
  });

  const kind = document.getElementById("field-kind");
  const replaces = document.getElementById("field-replaces");
  replaces.addEventListener("change", () => { const chosen = replaces.selectedOptions[0]; if (chosen.dataset.kind) kind.value = chosen.dataset.kind; });
  document.getElementById("field-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { kind: kind.value, value: document.getElementById("field-value").value.trim(), replaces: replaces.value || null };
    try { await sohoa.api("PUT", "/api/v1/documents/" + id + "/fields", body); say(words.saved); again(); } catch (error) { failed(error); }
  });

  // --- keys: one per decision, never while typing ------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    const candidates = document.querySelectorAll("button.choose");
    if (key === "a") { event.preventDefault(); accept(); }
    else if (key === "s") { event.preventDefault(); next(); }
    else if (key === "p") { event.preventDefault(); search.focus(); }
    else if (key === "d") { event.preventDefault(); document.getElementById("dossier-code").focus(); }
    else if (key === "f") { event.preventDefault(); kind.focus(); }
    else if (key === "+" || key === "=") setZoom(zoom + 1);
    else if (key === "-") setZoom(zoom - 1);
    else if (key === "pagedown") document.getElementById("page-next").click();
    else if (key === "pageup") document.getElementById("page-prev").click();
    else if (/^[1-9]$/.test(key) && candidates[Number(key) - 1]) { event.preventDefault(); candidates[Number(key) - 1].click(); }
  });
})();
