"use strict";
// zoo serve's page: sends the form to POST /predict and shows the answer (or the server's one-line error).
(function () {
  const form = document.getElementById("try");
  const kind = form.dataset.kind;
  const fileInput = form.querySelector("input[type=file]");
  const button = form.querySelector("button");
  const errorLine = document.getElementById("error");
  const statusLine = document.getElementById("status");
  const answer = document.getElementById("answer");
  const preview = document.getElementById("preview");

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showError(message) {
    const line = String(message || "").split("\n")[0];
    errorLine.textContent = line;
    errorLine.title = line;
  }

  function row(cells) {
    const tr = el("tr");
    for (const cell of cells) {
      const td = el("td", cell.className, cell.text);
      if (cell.node) td.appendChild(cell.node);
      tr.appendChild(td);
    }
    return tr;
  }

  function table(headings, rows, className) {
    const t = el("table", className);
    const head = el("tr");
    for (const h of headings) head.appendChild(el("th", null, h));
    t.appendChild(el("thead")).appendChild(head);
    const body = t.appendChild(el("tbody"));
    for (const r of rows) body.appendChild(r);
    return t;
  }

  function bar(score) {
    const span = el("span", "bar");
    span.style.width = Math.max(0, Math.min(1, Number(score) || 0)) * 160 + "px";
    return span;
  }

  function labels(output) {
    return table(["#", "label", "", "score"], output.map((o, i) => {
      const tr = row([{ text: i + 1 }, { text: o.label, className: "label" }, { node: bar(o.score) },
                      { text: o.score, className: "score" }]);
      tr.dataset.label = String(o.label);
      tr.dataset.score = String(o.score);
      return tr;
    }), "labels");
  }

  function items(output) {
    return table(["#", "title", "item", "score"], output.map((o, i) => {
      const score = o.score === null || o.score === undefined ? (o.note || "popular") : o.score;
      const tr = row([{ text: i + 1 }, { text: o.title || "", className: "title" },
                      { text: o.item, className: "item" }, { text: score, className: "score" }]);
      tr.dataset.item = String(o.item);
      return tr;
    }), "items");
  }

  function render(result) {
    clear(answer);
    answer.appendChild(el("p", "muted", "Answer for " + result.input));
    const output = result.output;
    const first = Array.isArray(output) && output.length ? output[0] : null;
    if (typeof output === "string") {
      answer.appendChild(el("div", "transcript", output || "(no speech recognised)"));
    } else if (first && typeof first === "object" && "label" in first) {
      answer.appendChild(labels(output));
    } else if (first && typeof first === "object" && "item" in first) {
      answer.appendChild(items(output));
    } else {
      answer.appendChild(el("pre", "json", JSON.stringify(output, null, 2)));
    }
  }

  if (fileInput) {
    fileInput.addEventListener("change", function () {
      clear(preview);
      const file = fileInput.files[0];
      if (!file) return;
      if (kind === "image") {
        const img = el("img");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        preview.appendChild(img);
      } else if (kind === "audio") {
        const audio = el("audio");
        audio.controls = true;
        audio.src = URL.createObjectURL(file);
        preview.appendChild(audio);
      }
    });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    showError("");
    clear(answer);
    let body;
    const headers = {};
    if (kind === "user") {
      const user = form.elements.user.value.trim();
      if (!user) return showError("type or pick a user id first");
      body = JSON.stringify({ user: user });
      headers["Content-Type"] = "application/json";
    } else {
      const file = fileInput.files[0];
      if (!file) return showError("choose a file first");
      body = new FormData();
      body.append("file", file, file.name);
    }
    button.disabled = true;
    statusLine.textContent = "asking the model…";
    try {
      const response = await fetch(form.getAttribute("action"), { method: "POST", body: body, headers: headers });
      let data = null;
      try {
        data = await response.json();
      } catch (ignored) {
        data = null;
      }
      if (data && !Array.isArray(data) && data.error) {
        showError(data.error);
      } else if (!response.ok || !Array.isArray(data) || data.length !== 1) {
        showError("the server answered HTTP " + response.status + " without an answer");
      } else {
        render(data[0]);
      }
    } catch (failure) {
      showError("could not reach the server: " + failure.message);
    } finally {
      button.disabled = false;
      statusLine.textContent = "";
    }
  });
})();
