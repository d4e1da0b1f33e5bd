// sohoa web app: what every page shares. Changes go through the JSON API with the session's CSRF token.
"use strict";
const sohoa = {
  csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  },
  // fetch JSON from the API; throws {code, message} on an error answer
  async api(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": sohoa.csrf(), Accept: "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) options.body = body;
    else if (body !== undefined) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
    const response = await fetch(path, options);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
      throw (data && data.error) || { code: "http." + response.status, message: response.statusText };
    }
    return data;
  },
  text(element, value) { if (element) element.textContent = value; },
};
window.sohoa = sohoa;
