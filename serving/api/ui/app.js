// The creators' page: a form that calls the service's own JSON API. No external assets.
"use strict";

const form = document.getElementById("draft-form");
const EARLY = ["age_minutes", "views", "likes", "comments", "shares", "follows",
               "completion_rate", "retention_3s"];
const NUMBERS = ["duration_s", "creator_followers", ...EARLY];

async function loadModel() {
  const reply = await fetch("/model");
  if (!reply.ok) return;
  const info = await reply.json();
  document.getElementById("threshold").textContent = info.threshold;
  document.getElementById("horizon").textContent = info.horizon_days;
  const select = document.getElementById("category");
  for (const name of info.categories) {
    const option = document.createElement("option");
    option.value = name; option.textContent = name.replace("_", " ");
    select.appendChild(option);
  }
}

function body() {
  const data = {};
  for (const element of form.elements) {
    if (!element.name || element.value === "" ) continue;
    if (element.type === "checkbox") { data[element.name] = element.checked; continue; }
    data[element.name] = NUMBERS.includes(element.name) ? Number(element.value) : element.value;
  }
  if (data.posted_at) data.posted_at = data.posted_at + ":00";  // local wall time
  data.explain = true;
  return data;
}

function clearErrors() {
  for (const span of document.querySelectorAll(".error")) span.textContent = "";
  for (const input of document.querySelectorAll(".invalid")) input.classList.remove("invalid");
}

function showErrors(detail) {
  for (const error of detail) {
    const loc = (error.loc || []).filter((part) => typeof part === "string");
    const field = loc.find((part) => document.getElementById("err-" + part));
    const span = document.getElementById("err-" + (field || "form"));
    span.textContent = (span.textContent ? span.textContent + "; " : "") + error.msg;
    if (field) document.getElementById(field).classList.add("invalid");
  }
}

async function post(path, data) {
  const reply = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify(data)});
  const answer = await reply.json();
  if (!reply.ok) {
    const detail = Array.isArray(answer.detail) ? answer.detail
      : [{loc: [], msg: answer.error || (Array.isArray(answer) && answer[0].error) || "request failed"}];
    throw detail;
  }
  return answer;
}

function gauge(answer) {
  const p = answer.probability;
  const arc = document.getElementById("gauge-arc");
  const length = arc.getTotalLength();
  arc.style.strokeDasharray = `${length * p} ${length}`;
  document.getElementById("probability").textContent = `${(p * 100).toFixed(1)}%`;
  const range = answer.interval;
  document.getElementById("interval").textContent = !range || answer.decided ? "" :
    `Of ${range.of_videos} videos like this one, likely ${Math.round(range.low * range.of_videos)}` +
    ` to ${Math.round(range.high * range.of_videos)} reach ${answer.threshold} likes.`;
}

// What the counts settled is said as a fact, not as a model's estimate.
function facts(answer) {
  const line = document.getElementById("facts");
  line.hidden = !answer.decided;
  line.textContent = !answer.decided ? "" : answer.reached
    ? `Reached: the video already has ${answer.threshold} likes or more.`
    : `Decided: the ${answer.horizon_days}-day horizon has passed below ${answer.threshold} likes.`;
  const list = document.getElementById("warnings");
  list.replaceChildren(...(answer.warnings || []).map((text) => {
    const li = document.createElement("li"); li.textContent = text; return li;
  }));
}

// How far to trust the number: the model's test figures at this age, in a sentence.
function reliability(said) {
  const line = document.getElementById("reliability");
  line.textContent = said.text;
  line.dataset.band = said.band;
}

function reasons(id, list) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...list.map((factor) => {
    const li = document.createElement("li"); li.textContent = factor.text; return li;
  }));
  if (!list.length) ul.innerHTML = "<li>nothing notable</li>";
}

function chart(whatif) {
  const svg = document.getElementById("hour-chart");
  const top = Math.max(...whatif.hours.map((h) => h.probability), 1e-6);
  const width = 480 / 24;
  svg.replaceChildren();
  whatif.hours.forEach((hour, i) => {
    const height = 130 * hour.probability / top;
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    rect.setAttribute("x", i * width + 2); rect.setAttribute("width", width - 4);
    rect.setAttribute("y", 135 - height); rect.setAttribute("height", height);
    if (whatif.best_hour && hour.local_hour === whatif.best_hour.local_hour) {
      rect.setAttribute("class", "best");
    }
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${hour.local_hour}:00 → ${(hour.probability * 100).toFixed(1)}%`;
    rect.appendChild(title);
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", i * width + 3); label.setAttribute("y", 150);
    label.textContent = hour.local_hour;
    svg.append(rect, label);
  });
  document.getElementById("best-hour").textContent = whatif.advice.join(" ");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const data = body();
  const early = EARLY.some((name) => name in data);
  try {
    const answer = await post(early ? "/predict_early" : "/predict_draft", data);
    const draft = Object.fromEntries(Object.entries(data).filter(([k]) => !EARLY.includes(k)));
    const whatif = await post("/whatif", {...draft, explain: false});
    document.getElementById("result").hidden = false;
    gauge(answer);
    reliability(answer.reliability);
    facts(answer);
    document.getElementById("model-version").textContent =
      `model version ${answer.model_version} · history: ${answer.history.source}`;
    reasons("reasons-up", answer.factors ? answer.factors.up : []);
    reasons("reasons-down", answer.factors ? answer.factors.down : []);
    chart(whatif);
  } catch (detail) {
    showErrors(Array.isArray(detail) ? detail : [{loc: [], msg: String(detail)}]);
  }
});

loadModel();
