// The dashboard's only script: draws the figures whose JSON the page carries, and
// polls the state of queued and running jobs every second.
"use strict";

function drawFigures() {
  if (!window.Plotly) return;
  for (const el of document.querySelectorAll("[data-figure]")) {
    const spec = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    window.Plotly.newPlot(el, spec.data, spec.layout, {
      responsive: true,
      displaylogo: false,
    });
  }
}

function showJob(row, state) {
  row.querySelector(".status").textContent = state.status;
  const bar = row.querySelector("progress");
  bar.value = state.progress;
  bar.textContent = Math.round(state.progress * 100) + "%";
  row.querySelector(".percent").textContent = Math.round(state.progress * 100) + "%";
  row.querySelector(".message").textContent = state.error || state.message;
  const cell = row.querySelector(".run");
  if (state.run_url && !cell.querySelector("a")) {
    const a = document.createElement("a");
    a.href = state.run_url;
    a.textContent = state.run;
    cell.replaceChildren(a);
  }
  if (state.status !== "queued" && state.status !== "running") {
    delete row.dataset.live;
  }
}

async function pollJobs() {
  const rows = document.querySelectorAll("tr[data-live]");
  if (rows.length === 0) return;
  await Promise.all(
    Array.from(rows, async (row) => {
      try {
        const r = await fetch(row.dataset.state, { credentials: "same-origin" });
        if (r.ok) showJob(row, await r.json());
      } catch (e) {
        // the next poll tries again
      }
    }),
  );
  setTimeout(pollJobs, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  drawFigures();
  setTimeout(pollJobs, 1000);
});
