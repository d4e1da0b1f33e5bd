// Intake: drop files or a folder, send them as one batch to POST /api/v1/batches with upload progress,
// then open the batch's live page. Without this script the form posts to /intake.
"use strict";
(function () {
  const form = document.getElementById("intake");
  if (!form) return;
  const words = document.getElementById("intake-words").dataset;
  const drop = document.getElementById("drop");
  const filesInput = document.getElementById("files");
  const folderInput = document.getElementById("folder");
  const chosen = document.getElementById("chosen");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const maxFiles = Number(form.dataset.maxFiles);
  const station = document.getElementById("station");
  let dropped = [];

  station.value = localStorage.getItem("sohoa.station") || "";
  const selected = () => dropped.length ? dropped : [...filesInput.files, ...folderInput.files];
  const show = () => {
    const files = selected();
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    chosen.textContent = files.length ? words.chosen.replace("{count}", files.length).replace("{mb}", (bytes / 1048576).toFixed(1)) : words.none;
  };
  filesInput.addEventListener("change", () => { dropped = []; show(); });
  folderInput.addEventListener("change", () => { dropped = []; show(); });
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    dropped = await filesOf(event.dataTransfer);
    show();
  });

  // every file of the dropped items, folders walked
  async function filesOf(transfer) {
    const entries = [...transfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length) return [...transfer.files];
    const out = [];
    async function walk(entry) {
      if (entry.isFile) { out.push(await new Promise((ok, bad) => entry.file(ok, bad))); return; }
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
    for (const entry of entries) await walk(entry);
    return out.filter((f) => !f.name.startsWith("."));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const files = selected();
    if (!files.length) { status.textContent = words.none; return; }
    if (files.length > maxFiles) { status.textContent = words.tooMany; return; }
    localStorage.setItem("sohoa.station", station.value);
    const body = new FormData();
    for (const file of files) body.append("files", file, file.webkitRelativePath || file.name);
    for (const field of ["dossier", "station", "name"]) {
      const value = form.elements[field].value.trim();
      if (value) body.append(field, value);
    }
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/batches");
    request.setRequestHeader("X-CSRF-Token", sohoa.csrf());
    request.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    form.querySelector("#send").disabled = true;
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.firstElementChild.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", String(percent));
      status.textContent = words.uploading + " " + percent + " %";
    });
    request.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
      if (request.status === 202 && answer && answer.id) { window.location = "/batches/" + answer.id; return; }
      const error = (answer && answer.error) || { code: "http." + request.status, message: request.statusText };
      status.textContent = words.failed + " " + error.message + " (" + error.code + ")";
      form.querySelector("#send").disabled = false;
    });
    request.addEventListener("error", () => { status.textContent = words.failed; form.querySelector("#send").disabled = false; });
    request.send(body);
  });
})();
