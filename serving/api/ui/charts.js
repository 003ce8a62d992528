// Bar charts as plain SVG, drawn at the size they are shown (one SVG unit = one CSS pixel), so
// a 12 px label is 12 px on a phone too. Every bar carries its value as text: phones have no
// hover, so a value only in a tooltip is a value nobody sees.

const SVG = "http://www.w3.org/2000/svg";
const MIN_COLUMN = 26;    // px per bar below which bars lie down, one row per option
const ROW = 22;           // px per row when they do

/**
 * Draws `bars` ([{label, value (0-1), best}]) into `svg`.
 * `axes`: {value: title of the chance axis, category: title of the options' axis, label: the
 * chart's accessible name}.
 */
export function barChart(svg, bars, axes) {
  const width = Math.max(240, Math.floor(svg.parentElement.clientWidth));
  const upright = (width - 56) / bars.length >= MIN_COLUMN;
  const top = niceTop(Math.max(...bars.map((bar) => bar.value), 0.001));
  svg.replaceChildren();
  const height = upright ? columns(svg, bars, axes, width, top) : rows(svg, bars, axes, width, top);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("aria-label", axes.label);
  svg.dataset.layout = upright ? "columns" : "rows";
}

// Options along the bottom, chance up the side.
function columns(svg, bars, axes, width, top) {
  const left = 50, plot = 160, above = 20, below = 44;
  const step = (width - left - 6) / bars.length;
  const y = (value) => above + plot * (1 - value / top);
  gridlines(svg, top, (value) => {
    add(svg, "line", {x1: left, x2: width - 6, y1: y(value), y2: y(value), class: "grid"});
    add(svg, "text", {x: left - 6, y: y(value) + 4, "text-anchor": "end"}, percent(value));
  });
  bars.forEach((bar, i) => {
    const x = left + i * step;
    add(svg, "rect", {x: x + 2, width: step - 4, y: y(bar.value),
                      height: plot + above - y(bar.value), class: bar.best ? "best" : ""});
    add(svg, "text", {x: x + step / 2, y: y(bar.value) - 4, "text-anchor": "middle",
                      class: "value"}, percent(bar.value));
    add(svg, "text", {x: x + step / 2, y: above + plot + 16, "text-anchor": "middle",
                      class: "label"}, bar.label);
  });
  add(svg, "text", {x: left + (width - left) / 2, y: above + plot + 38, "text-anchor": "middle",
                    class: "axis"}, axes.category);
  add(svg, "text", {x: 14, y: above + plot / 2, "text-anchor": "middle", class: "axis",
                    transform: `rotate(-90 14 ${above + plot / 2})`}, axes.value);
  return above + plot + below;
}

// One row per option (too many for columns on a narrow screen), chance along the bottom.
function rows(svg, bars, axes, width, top) {
  const left = 56, right = 44, above = 22;
  const plot = width - left - right;
  const x = (value) => left + plot * value / top;
  const bottom = above + bars.length * ROW;
  gridlines(svg, top, (value) => {
    add(svg, "line", {x1: x(value), x2: x(value), y1: above, y2: bottom, class: "grid"});
    add(svg, "text", {x: x(value), y: bottom + 16, "text-anchor": "middle"}, percent(value));
  });
  bars.forEach((bar, i) => {
    const y = above + i * ROW;
    add(svg, "rect", {x: left, y: y + 3, width: x(bar.value) - left, height: ROW - 6,
                      class: bar.best ? "best" : ""});
    add(svg, "text", {x: left - 6, y: y + ROW / 2 + 4, "text-anchor": "end", class: "label"},
        bar.label);
    add(svg, "text", {x: x(bar.value) + 4, y: y + ROW / 2 + 4, class: "value"},
        percent(bar.value));
  });
  add(svg, "text", {x: 0, y: 14, class: "axis"}, axes.category);
  add(svg, "text", {x: left + plot / 2, y: bottom + 36, "text-anchor": "middle", class: "axis"},
      axes.value);
  return bottom + 44;
}

/**
 * Draws a video's likes over its age against the band of videos like it (`compared` of an
 * answer: {curve: [{age_minutes, reached, missed}], points: [{age_minutes, likes}]}) into
 * `svg`. The ages shown run to twice the video's latest, at a training age, so its own points
 * are not squeezed into a corner of a week. `axes`: {age, likes, label} titles.
 */
export function curveChart(svg, compared, axes) {
  const width = Math.max(240, Math.floor(svg.parentElement.clientWidth));
  const left = 56, right = 10, above = 14, plot = 180, below = 44;
  const latest = Math.max(...compared.points.map((point) => point.age_minutes));
  const ages = compared.curve.map((at) => at.age_minutes);
  const end = ages.find((age) => age >= latest * 2) ?? Math.max(...ages, latest);
  const shown = compared.curve.filter((at) => at.age_minutes <= end);
  const highest = Math.max(1, ...compared.points.map((point) => point.likes),
    ...shown.flatMap((at) => [at.reached?.high ?? 0, at.missed?.high ?? 0]));
  const top = niceCount(highest);
  const x = (minutes) => left + (width - left - right) * minutes / end;
  const y = (likes) => above + plot * (1 - Math.min(likes, top) / top);
  svg.replaceChildren();
  for (const value of [0, top / 2, top]) {
    add(svg, "line", {x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid"});
    add(svg, "text", {x: left - 6, y: y(value) + 4, "text-anchor": "end"}, short(value));
  }
  for (const minutes of [0, end / 2, end]) {
    add(svg, "text", {x: x(minutes), y: above + plot + 16,
                      "text-anchor": minutes === end ? "end" : "middle"}, hours(minutes));
  }
  for (const outcome of ["missed", "reached"]) {
    const known = shown.filter((at) => at[outcome]);
    if (known.length < 2) continue;
    const upper = known.map((at) => `${x(at.age_minutes)},${y(at[outcome].high)}`);
    const lower = known.map((at) => `${x(at.age_minutes)},${y(at[outcome].low)}`).reverse();
    add(svg, "polygon", {points: [...upper, ...lower].join(" "), class: `band ${outcome}`});
    add(svg, "polyline", {class: `median ${outcome}`, points: known.map(
      (at) => `${x(at.age_minutes)},${y(at[outcome].median)}`).join(" ")});
  }
  const own = [{age_minutes: 0, likes: 0}, ...compared.points];
  add(svg, "polyline", {class: "yours", points: own.map(
    (point) => `${x(point.age_minutes)},${y(point.likes)}`).join(" ")});
  for (const point of compared.points) {
    add(svg, "circle", {cx: x(point.age_minutes), cy: y(point.likes), r: 4, class: "yours"});
  }
  titled(svg, {left, width, above, plot, below}, axes.age, axes.likes, axes.label);
}

/**
 * Draws a chance at each look (`looks`: [{age_minutes, probability, low, high}], by age) as a
 * line over hours since posting, its interval as a band, into `svg`. The age axis ends at a
 * round number of hours past the latest look, so its ticks read 0, 3, 6 rather than 0, 3.3,
 * 6.6. `axes`: {age, chance, label} titles.
 */
export function chanceChart(svg, looks, axes) {
  const width = Math.max(240, Math.floor(svg.parentElement.clientWidth));
  const left = 50, right = 10, above = 14, plot = 150, below = 44;
  const end = niceAge(Math.max(...looks.map((look) => look.age_minutes)) * 1.1);
  const x = (minutes) => left + (width - left - right) * minutes / end;
  const y = (p) => above + plot * (1 - p);
  svg.replaceChildren();
  for (const value of [0, 0.5, 1]) {
    add(svg, "line", {x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid"});
    add(svg, "text", {x: left - 6, y: y(value) + 4, "text-anchor": "end"}, percent(value));
  }
  for (const minutes of [0, end / 2, end]) {
    add(svg, "text", {x: x(minutes), y: above + plot + 16,
                      "text-anchor": minutes === end ? "end" : "middle"}, hours(minutes));
  }
  const ranged = looks.filter((look) => look.low !== null && look.high !== null);
  if (ranged.length > 1) {
    const upper = ranged.map((look) => `${x(look.age_minutes)},${y(look.high)}`);
    const lower = ranged.map((look) => `${x(look.age_minutes)},${y(look.low)}`).reverse();
    add(svg, "polygon", {points: [...upper, ...lower].join(" "), class: "band reached"});
  }
  add(svg, "polyline", {class: "yours chance", points: looks.map(
    (look) => `${x(look.age_minutes)},${y(look.probability)}`).join(" ")});
  for (const look of looks) {
    add(svg, "circle", {cx: x(look.age_minutes), cy: y(look.probability), r: 4, class: "yours"});
  }
  titled(svg, {left, width, above, plot, below}, axes.age, axes.chance, axes.label);
}

// The axis titles under and beside a plot of `box`'s size, and the chart's size and label.
function titled(svg, box, across, up, label) {
  const {left, width, above, plot, below} = box;
  add(svg, "text", {x: left + (width - left) / 2, y: above + plot + 38, "text-anchor": "middle",
                    class: "axis"}, across);
  add(svg, "text", {x: 14, y: above + plot / 2, "text-anchor": "middle", class: "axis",
                    transform: `rotate(-90 14 ${above + plot / 2})`}, up);
  const height = above + plot + below;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("aria-label", label);
}

// A like count's axis top: 1, 2 or 5 times a power of ten, just above the largest count.
function niceCount(largest) {
  const power = 10 ** Math.floor(Math.log10(largest * 1.1));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= largest * 1.1);
}

// An age axis's end in minutes: a round number of hours (then days) at or above `minutes`,
// whose half is round too, as the middle tick shows it.
function niceAge(minutes) {
  const hours = [1, 2, 4, 6, 8, 12, 24, 48, 72, 96, 120, 144, 168];
  const end = hours.find((h) => h * 60 >= minutes) ?? 48 * Math.ceil(minutes / (48 * 60));
  return end * 60;
}

// An axis count, short: 1500 -> "1.5k".
function short(value) {
  return value >= 1000 ? `${+(value / 1000).toFixed(1)}k` : String(+value.toFixed(1));
}

// Minutes as hours on the age axis, one decimal where it matters.
function hours(minutes) {
  return String(+(minutes / 60).toFixed(minutes < 600 ? 1 : 0));
}

// The axis's top: a round number of per cent just above the largest bar.
function niceTop(largest) {
  const steps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1];
  return steps.find((step) => step >= largest * 1.1) ?? 1;
}

// Three gridlines: nought, half and the top.
function gridlines(svg, top, draw) {
  for (const value of [0, top / 2, top]) draw(value);
}

// Per cent without the sign (the axis says "%"), one decimal only where it matters.
function percent(value) {
  const points = value * 100;
  return points < 10 && Math.round(points) !== points ? points.toFixed(1) : points.toFixed(0);
}

function add(svg, tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== "") element.setAttribute(name, value);
  }
  if (text !== undefined) element.textContent = text;
  svg.appendChild(element);
  return element;
}
