// The creators' page: a form that calls the service's own JSON API. No external assets, no
// framework: the form is read, checked here, sent, and the answer is written into the page.
import {barChart, chanceChart, curveChart} from "/ui/charts.js";
import {TAGS, chooseLanguage, keepLanguage, ruleMessage, t, translatePage}
  from "/ui/i18n.js";

const form = document.getElementById("draft-form");
const PAIRS = [0, 1];  // the earlier like counts the form has room for

// What the page knows between events: the chosen language, the model's facts, the last
// what-if (to redraw its charts at a new width) and whether posted_at was typed by hand.
const state = {language: chooseLanguage(), model: null, whatif: null, compared: null, zone: "",
  timeTyped: false, videoId: null};
// Each video's looks (its id -> [{age_minutes, probability, low, high}]), in this browser
// only: no account and nothing on the server beyond the requests the page sends anyway.
const LOOKS_KEY = "likecast.looks";

// -- the form --------------------------------------------------------------------------

// The browser's own zone: what a creator most likely means by "20:00".
function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// The next full hour on the browser's clock, as a datetime-local value.
function nextFullHour(now = new Date()) {
  const next = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours() + 1);
  const two = (n) => String(n).padStart(2, "0");
  return `${next.getFullYear()}-${two(next.getMonth() + 1)}-${two(next.getDate())}` +
    `T${two(next.getHours())}:00`;
}

function fillDefaults() {
  document.getElementById("timezone").value = browserZone();
  document.getElementById("posted_at").value = nextFullHour();
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
  document.getElementById("zones").replaceChildren(...zones.map((zone) => new Option(zone)));
  document.getElementById("posted_at").addEventListener("input", () => { state.timeTyped = true; });
}

// A number field's value, or the reason it is not one (in the page's language).
function readNumber(input) {
  const text = input.value.trim();
  if (text === "") return {value: null};
  // digits with at most one point (and an exponent): "3O", "30s" or "1,5" are no number
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) {
    return {problem: t(state.language, "errNumber")};
  }
  const value = Number(text);
  if (input.dataset.kind === "int" && !Number.isInteger(value)) {
    return {problem: t(state.language, "errWhole")};
  }
  if (value < Number(input.dataset.min)) {
    return {problem: t(state.language, "errMin", {min: input.dataset.min})};
  }
  if (value > Number(input.dataset.max)) {
    return {problem: t(state.language, "errMax", {max: count(input.dataset.max)})};
  }
  return {value};
}

// The zone's canonical name ("america/new_york" -> "America/New_York"), as the API spells
// it; null when the browser does not know the zone.
function canonicalZone(zone) {
  try {
    return new Intl.DateTimeFormat("en", {timeZone: zone}).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

// The request body and the problems found at fields ({field id: message}).
function readForm() {
  const data = {explain: true};
  const problems = {};
  for (const input of form.querySelectorAll("[data-kind]")) {
    const {value, problem} = readNumber(input);
    if (problem) problems[input.id] = problem;
    else if (value !== null && input.name) data[input.name] = value;
  }
  for (const name of ["creator_id", "category", "caption", "hashtags", "timezone"]) {
    const value = document.getElementById(name).value.trim();
    if (value) data[name] = value;
  }
  data.music_trending = document.getElementById("music_trending").checked;
  if (!data.creator_id) problems.creator_id = t(state.language, "errRequired");
  // an empty field means the browser's zone: the hours sent, charted and labelled agree
  const zone = canonicalZone(data.timezone || browserZone());
  if (zone) data.timezone = zone;
  else problems.timezone = t(state.language, "errTimezone");
  const early = form.querySelectorAll("[data-early]");
  const isEarly = [...early].some((input) => input.value.trim() !== "");
  if (isEarly) readEarly(data, problems);
  const posted = document.getElementById("posted_at").value;
  // a posted video's time is now minus its age, unless the creator typed one
  if (posted && (!isEarly || state.timeTyped)) data.posted_at = posted + ":00";
  if (!posted && !isEarly) problems.posted_at = t(state.language, "errDate");
  return {data, problems, isEarly};
}

// The early part: the counts now need their age and likes; each earlier pair is whole; the
// video's id is optional.
function readEarly(data, problems) {
  // the video's id goes with its counts only: a draft has none yet
  const videoId = document.getElementById("video_id").value.trim();
  if (videoId) data.video_id = videoId;
  for (const name of ["age_minutes", "likes"]) {
    if (!(name in data) && !problems[name]) problems[name] = t(state.language, "errRequired");
  }
  data.earlier = [];
  for (const i of PAIRS) {
    const ids = [`earlier-${i}-age_minutes`, `earlier-${i}-likes`];
    if (ids.some((id) => problems[id])) continue;
    const [age, likes] = ids.map((id) => readNumber(document.getElementById(id)).value);
    if (age === null && likes === null) continue;
    if (age === null || likes === null) {
      problems[ids[age === null ? 0 : 1]] = t(state.language, "errEarlierPair");
    } else if (data.age_minutes !== undefined && age >= data.age_minutes) {
      problems[ids[0]] = t(state.language, "errEarlierAge");
    } else {
      data.earlier.push({age_minutes: age, likes});
    }
  }
}

// -- errors ----------------------------------------------------------------------------

function clearErrors() {
  for (const span of form.querySelectorAll(".error")) span.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

// Each problem beside its field; one it cannot place goes under the button.
function showErrors(problems) {
  for (const [field, message] of Object.entries(problems)) {
    const input = document.getElementById(field);
    const span = document.getElementById(`err-${input ? field : "form"}`);
    span.textContent = span.textContent ? `${span.textContent}; ${message}` : message;
    if (input) input.setAttribute("aria-invalid", "true");
  }
  const fields = Object.keys(problems).filter((field) => document.getElementById(field));
  const below = document.getElementById("err-form");
  if (fields.length) {
    if (!below.textContent) below.textContent = t(state.language, "errFix");
    document.getElementById(fields[0]).focus();
  }
}

// The API's refusal ({detail: [{loc, msg, type}]}, loc naming the field, e.g. ["earlier", 0,
// "likes"]) as problems at the form's fields.
function apiProblems(answer) {
  const detail = Array.isArray(answer?.detail) ? answer.detail
    : [{loc: [], msg: answer?.error || t(state.language, "errService")}];
  const problems = {};
  for (const error of detail) {
    const field = fieldOf(error.loc || []);
    const message = ruleMessage(state.language, error);
    problems[field] = problems[field] ? `${problems[field]}; ${message}` : message;
  }
  return problems;
}

// The longest start of an error's location that is a field of the form.
function fieldOf(loc) {
  for (let n = loc.length; n > 0; n--) {
    const id = loc.slice(0, n).join("-");
    if (document.getElementById(`err-${id}`)) return id;
  }
  return "form";
}

// A stale answer beside a new error reads as the error's answer: it goes.
function clearResult() {
  for (const id of ["result", "whatif", "curve-box"]) document.getElementById(id).hidden = true;
  for (const id of ["factors", "warnings", "hour-advice", "length-advice"]) {
    document.getElementById(id).replaceChildren();
  }
  document.getElementById("probability").textContent = "–";
  state.whatif = null;
  state.compared = null;
}

// -- talking to the API ----------------------------------------------------------------

async function post(path, data) {
  const reply = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept-Language": TAGS[state.language]},
    body: JSON.stringify(data),
  });
  const answer = await reply.json().catch(() => null);
  if (!reply.ok) throw apiProblems(answer);
  return answer;
}

async function loadModel() {
  const reply = await fetch("/model", {headers: {"Accept-Language": TAGS[state.language]}});
  if (!reply.ok) return;
  state.model = await reply.json();
  const select = document.getElementById("category");
  // the example draft is a noodle recipe; later (a language switch) the choice stays,
  // "Not sure" included
  const first = select.options.length <= 1;
  const chosen = first ? "food" : select.value;
  // the service names its categories in the language asked (an older one does not)
  const names = state.model.category_names || {};
  select.replaceChildren(select.options[0], ...state.model.categories.map((name) => {
    const option = new Option(names[name] || name.replaceAll("_", " "), name);
    option.selected = name === chosen;
    return option;
  }));
  header();
}

// -- the answer ------------------------------------------------------------------------

const percent = (p) => `${(p * 100).toFixed(1)}%`;
// Counts as the page's language writes them ("1,000"), as the API's own sentences do.
const count = (n) => Number(n).toLocaleString(TAGS[state.language]);

function setText(id, text) {
  const element = document.getElementById(id);
  element.textContent = text || "";
  element.hidden = !text;
}

function list(id, texts) {
  document.getElementById(id).replaceChildren(...texts.map((text) => {
    const li = document.createElement("li"); li.textContent = text; return li;
  }));
}

function gauge(answer) {
  const arc = document.getElementById("gauge-arc");
  arc.style.strokeDasharray = `${arc.getTotalLength() * answer.probability} 1000`;
  document.getElementById("probability").textContent = percent(answer.probability);
  setText("chance-of", t(state.language, "chanceOf", {threshold: count(answer.threshold)}));
}

// The interval and what the counts settled; how far to trust it, from the model's own tests.
function trust(answer) {
  const range = answer.interval;
  const n = range?.of_videos;
  setText("interval", !range || answer.decided ? "" : t(state.language, "interval", {
    videos: n, low: Math.round(range.low * n), high: Math.round(range.high * n),
    threshold: count(answer.threshold),
  }));
  setText("facts", !answer.decided ? "" : t(state.language, answer.reached ? "reached" : "missed",
    {threshold: count(answer.threshold), days: answer.horizon_days}));
  const said = answer.reliability;
  setText("reliability", said?.text);
  if (said) document.getElementById("reliability").dataset.band = said.band;
  list("warnings", answer.warnings || []);
}

// The typical rate of the category and of the creator's own videos; an older service has no
// `context`, and then only "no history" is said, from the history it used.
function compare(answer) {
  const context = answer.context;
  const unknown = context ? !context.creator : answer.history?.source === "cold_start";
  setText("context-category", context?.category?.text);
  setText("context-creator", unknown ? t(state.language, "newCreator") : context?.creator?.text);
  document.getElementById("compare").hidden =
    !context?.category && !document.getElementById("context-creator").textContent;
  setText("growth", answer.growth?.text);
  document.getElementById("growth-box").hidden = !answer.growth?.text;
  state.compared = answer.compared ? {...answer.compared, threshold: answer.threshold} : null;
  drawCurve();
}

// The video's likes over the band of videos like it; none for a draft or an older model.
function drawCurve() {
  const compared = state.compared;
  document.getElementById("curve-box").hidden = !compared;
  if (!compared) return;
  const language = state.language;
  setText("curve-text", compared.text);
  list("curve-signals", (compared.signals || []).map((signal) => signal.text));
  document.getElementById("curve-reached").textContent =
    t(language, "curveReached", {threshold: count(compared.threshold)});
  curveChart(document.getElementById("curve-chart"), compared, {
    age: t(language, "curveAgeAxis"), likes: t(language, "curveLikesAxis"),
    label: t(language, "curveChartLabel", {group: compared.group.name}) + ": " + compared.text,
  });
}

// Factors biggest first, each with its signed size in points; an older service sends
// {up, down} without points, and then its texts are listed with their direction.
function factors(answer) {
  const given = answer.factors;
  const items = Array.isArray(given) ? given
    : [...(given?.up || []).map((f) => ({...f, direction: "up"})),
       ...(given?.down || []).map((f) => ({...f, direction: "down"}))];
  const ol = document.getElementById("factors");
  ol.replaceChildren(...items.map((factor) => {
    const li = document.createElement("li");
    li.className = factor.direction;
    if (factor.key) li.dataset.key = factor.key;
    const size = document.createElement("strong");
    size.textContent = typeof factor.points === "number" ? t(state.language, "points", {
      sign: factor.points >= 0 ? "+" : "−", value: Math.abs(factor.points).toFixed(1),
    }) : t(state.language, factor.direction === "up" ? "raises" : "lowers");
    li.append(size, " ", factor.text);
    return li;
  }));
  if (!items.length && !answer.decided) list("factors", [t(state.language, "nothingStandsOut")]);
  document.querySelector(".reasons").hidden = answer.decided;
}

function show(answer) {
  document.getElementById("result").hidden = false;
  gauge(answer);
  trust(answer);
  compare(answer);
  factors(answer);
  setText("model-version", t(state.language, "modelVersion", {version: answer.model_version}));
}

// The two what-if charts, for a draft only: the hour in the creator's zone, the length.
function drawWhatif() {
  const whatif = state.whatif;
  const section = document.getElementById("whatif");
  section.hidden = !whatif;
  if (!whatif) return;
  // the API's advice is [on the posting time, on the length]: each under its own chart
  const [onHour, onLength] = whatif.advice || [];
  setText("hour-advice", onHour);
  setText("length-advice", onLength);
  const language = state.language;
  const hourBars = whatif.hours.map((option) => ({
    label: String(option.local_hour).padStart(2, "0"), value: option.probability,
    best: option.local_hour === whatif.best_hour?.local_hour,
  }));
  barChart(document.getElementById("hour-chart"), hourBars, {
    value: t(language, "chanceAxis"), category: t(language, "hourAxis", {zone: state.zone}),
    label: t(language, "hourChartLabel", {zone: state.zone}) + ": " + summary(hourBars, ":00"),
  });
  drawAudience(whatif.audience);
  const lengthBars = whatif.durations.map((option) => ({
    label: String(option.duration_s), value: option.probability,
    best: option.duration_s === whatif.best_duration?.duration_s,
  }));
  barChart(document.getElementById("length-chart"), lengthBars, {
    value: t(language, "chanceAxis"), category: t(language, "lengthAxis"),
    label: t(language, "lengthChartLabel") + ": " + summary(lengthBars, " s"),
  });
  section.querySelector(".legend").hidden = !whatif.best_hour && !whatif.best_duration;
}

// When likes arrive, on the creator's clock, beside the posting hours: no bar is marked, as
// it is no advice; data too rarely crawled give a sentence saying so and no chart.
function drawAudience(audience) {
  document.getElementById("audience-box").hidden = !audience;
  if (!audience) return;
  setText("audience-text", audience.text);
  document.getElementById("audience-chart-box").hidden = !audience.known;
  if (!audience.known) return;
  const language = state.language;
  const bars = audience.hours.map((hour) => ({
    label: String(hour.local_hour).padStart(2, "0"), value: hour.share, best: false,
  }));
  barChart(document.getElementById("audience-chart"), bars, {
    value: t(language, "shareAxis"), category: t(language, "likeHourAxis", {zone: state.zone}),
    label: t(language, "audienceChartLabel", {zone: state.zone}) + ": " + summary(bars, ":00"),
  });
}

// A chart's values in words, for a screen reader.
function summary(bars, unit) {
  return bars.map((bar) => `${bar.label}${unit} ${percent(bar.value)}`).join(", ");
}

// Brought into view when it landed below the fold (on a phone it does).
function reveal() {
  const result = document.getElementById("result");
  // below the middle of the screen (a phone), or scrolled past above (a long early form)
  const top = result.getBoundingClientRect().top;
  if (top > window.innerHeight * 0.5 || top < 0) {
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    result.scrollIntoView({behavior: smooth ? "smooth" : "auto", block: "start"});
  }
}

async function predict() {
  clearErrors();
  const {data, problems, isEarly} = readForm();
  if (Object.keys(problems).length) {
    clearResult();
    showErrors(problems);
    return;
  }
  const button = document.getElementById("submit");
  button.disabled = true;
  try {
    const path = isEarly ? "/predict_early" : "/predict_draft";
    // posting advice is for a video not yet posted
    const [answer, whatif] = await Promise.all(
      [post(path, data), isEarly ? null : post("/whatif", {...data, explain: false})]);
    state.zone = data.timezone;
    state.whatif = whatif;
    state.videoId = isEarly && data.video_id ? data.video_id : null;
    if (state.videoId) remember(state.videoId, answer);
    show(answer);
    drawLooks();
    drawWhatif();
    reveal();
  } catch (problem) {
    clearResult();
    showErrors(problem instanceof Error ? {form: t(state.language, "errService")} : problem);
  } finally {
    button.disabled = false;
  }
}

// -- the chance over time ---------------------------------------------------------------

function readLooks() {
  try {
    return JSON.parse(localStorage.getItem(LOOKS_KEY)) || {};
  } catch {
    return {};  // storage refused or spoiled: no looks rather than no page
  }
}

function writeLooks(all) {
  try { localStorage.setItem(LOOKS_KEY, JSON.stringify(all)); } catch { /* storage refused */ }
}

// An early answer of a video with an id is one look: one per age, the latest kept.
function remember(videoId, answer) {
  const all = readLooks();
  const looks = (all[videoId] || []).filter((look) => look.age_minutes !== answer.age_minutes);
  looks.push({age_minutes: answer.age_minutes, probability: answer.probability,
              low: answer.interval?.low ?? null, high: answer.interval?.high ?? null});
  looks.sort((a, b) => a.age_minutes - b.age_minutes);
  all[videoId] = looks.slice(-50);
  writeLooks(all);
}

const ageText = (minutes) => t(state.language, "hoursShort",
  {value: +(minutes / 60).toFixed(minutes < 600 ? 1 : 0)});

function drawLooks() {
  const looks = state.videoId ? readLooks()[state.videoId] || [] : [];
  document.getElementById("looks-box").hidden = !looks.length;
  if (!looks.length) return;
  const language = state.language;
  const [first, last] = [looks[0], looks[looks.length - 1]];
  setText("looks-text", looks.length === 1
    ? t(language, "looksOne", {age: ageText(first.age_minutes), chance: percent(first.probability)})
    : t(language, "looksMoved", {from: percent(first.probability), fromAge: ageText(first.age_minutes),
        to: percent(last.probability), toAge: ageText(last.age_minutes), looks: looks.length}));
  chanceChart(document.getElementById("looks-chart"), looks, {
    age: t(language, "curveAgeAxis"), chance: t(language, "looksAxis"),
    label: t(language, "looksChartLabel") + ": " + document.getElementById("looks-text").textContent,
  });
}

function forget() {
  const all = readLooks();
  delete all[state.videoId];
  writeLooks(all);
  drawLooks();
}

// -- language --------------------------------------------------------------------------

function header() {
  const threshold = count(state.model?.threshold ?? 1000);
  const days = state.model?.horizon_days ?? 7;
  document.getElementById("question").textContent =
    t(state.language, "question", {threshold, days});
  document.title = t(state.language, "title", {threshold});
}

// Every word of the page in the new language; a shown answer is asked again, so the API's
// sentences match too, and the page's own complaints about the form are said again.
function setLanguage(language) {
  state.language = language;
  translatePage(language);
  header();
  for (const button of document.querySelectorAll("[data-language]")) {
    button.setAttribute("aria-pressed", String(button.dataset.language === language));
  }
  loadModel();  // the category names, in the new language
  if (!document.getElementById("result").hidden) {
    predict();
  } else if ([...form.querySelectorAll(".error")].some((span) => span.textContent)) {
    clearErrors();
    showErrors(readForm().problems);
  }
}

function start() {
  fillDefaults();
  setLanguage(state.language);
  for (const button of document.querySelectorAll("[data-language]")) {
    button.addEventListener("click", () => {
      keepLanguage(button.dataset.language);
      setLanguage(button.dataset.language);
    });
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); predict(); });
  document.getElementById("forget").addEventListener("click", forget);
  let pending = 0;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => { drawWhatif(); drawCurve(); drawLooks(); }, 150);  // once still
  });
  loadModel();
}

start();
