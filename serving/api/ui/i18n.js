// The page's words in English and Simplified Chinese, and which of the two a visitor reads.
// The API's own sentences (reasons, reliability, context, growth, advice, warnings) come back
// in the language asked for with Accept-Language; only the page's own words live here.

const STORAGE_KEY = "likecast.language";

const STRINGS = {
  en: {
    title: "likecast: will it reach {threshold} likes?",
    question: "Will your video reach {threshold} likes within {days} days?",
    languageLabel: "Language",
    draftLegend: "Your video",
    creatorId: "Creator id",
    category: "Category",
    notSure: "Not sure",
    duration: "Length (seconds)",
    postedAt: "Planned posting time",
    timezone: "Time zone (hours on this page are in it)",
    caption: "Caption",
    hashtags: "Hashtags",
    followers: "Followers",
    music: "Trending music",
    earlySummary: "Already posted? Add its numbers so far",
    earlyHint: "Leave the posting time above as it is: it is taken as now minus the minutes " +
      "since posting.",
    videoId: "Video id (optional)",
    videoIdHint: "Its id on the platform: kept with the answer, so how the video did can be " +
      "checked later. It does not change the answer.",
    ageMinutes: "Minutes since posting",
    views: "Views",
    likes: "Likes",
    comments: "Comments",
    shares: "Shares",
    follows: "New followers from it",
    completion: "Completion rate (0 to 1)",
    retention: "Still watching after 3 seconds (0 to 1)",
    earlierLegend: "Likes at earlier times (optional, for its growth)",
    earlierAge: "Minutes since posting, then",
    earlierLikes: "Likes then",
    predict: "Predict",
    resultHeading: "Your result",
    chanceOf: "Chance of reaching {threshold} likes",
    interval: "Of {videos} videos like this one, likely {low} to {high} reach {threshold} likes.",
    reached: "Reached: the video already has {threshold} likes or more.",
    missed: "Decided: its {days} days have passed below {threshold} likes.",
    compareHeading: "For comparison",
    newCreator: "None of your earlier videos has a final count in likecast yet, so there is " +
      "nothing of your own to compare with.",
    growthHeading: "How fast it is growing",
    curveHeading: "Against videos like it",
    looksHeading: "Its chance over time (kept in this browser only)",
    looksMoved: "Its chance went from {from} at {fromAge} to {to} at {toAge} ({looks} looks)",
    looksOne: "Its chance at {age}: {chance}. Check again later to see how it moves.",
    looksAxis: "Chance (%)",
    looksChartLabel: "Its chance at each look, by hours since posting",
    forget: "Forget this video's looks",
    hoursShort: "{value} h",
    audienceHeading: "When the audience likes (a fact, not advice)",
    shareAxis: "Share of a day's likes (%)",
    likeHourAxis: "Hour of the day ({zone})",
    audienceChartLabel: "Share of likes by hour in {zone}",
    curveAgeAxis: "Hours since posting",
    curveLikesAxis: "Likes",
    curveReached: "Reached {threshold} likes (middle half)",
    curveMissed: "Did not (middle half)",
    curveYours: "Your video",
    curveChartLabel: "Likes by age of {group}, and your video's counts",
    whyHeading: "What moves the chance",
    nothingStandsOut: "No single factor stands out for this answer.",
    points: "{sign}{value} points",
    raises: "raises it",
    lowers: "lowers it",
    whenHeading: "When to post",
    howLongHeading: "How long to make it",
    chanceAxis: "Chance (%)",
    hourAxis: "Posting hour ({zone})",
    lengthAxis: "Length (seconds)",
    recommended: "Recommended",
    hourChartLabel: "Chance by posting hour in {zone}",
    lengthChartLabel: "Chance by video length",
    modelVersion: "Model version {version}",
    errNumber: "Enter a number (digits only)",
    errWhole: "Enter a whole number",
    errMin: "Must be at least {min}",
    errMax: "Must be at most {max}",
    errRequired: "Required",
    errTimezone: "Unknown time zone; for example Asia/Shanghai",
    errEarlierAge: "Must be fewer minutes than the counts now",
    errEarlierPair: "Give both the minutes and the likes",
    errDate: "Enter a date and time",
    errFix: "Please fix the marked fields.",
    errService: "The service did not answer; please try again.",
    errTooLong: "At most {max} characters",
  },
  zh: {
    title: "likecast：能获得 {threshold} 个赞吗？",
    question: "你的视频能在 {days} 天内获得 {threshold} 个赞吗？",
    languageLabel: "语言",
    draftLegend: "你的视频",
    creatorId: "创作者 ID",
    category: "类别",
    notSure: "不确定",
    duration: "时长（秒）",
    postedAt: "计划发布时间",
    timezone: "时区（本页的时间都按这个时区）",
    caption: "文案",
    hashtags: "话题标签",
    followers: "粉丝数",
    music: "使用热门音乐",
    earlySummary: "已经发布了？填写目前的数据",
    earlyHint: "上面的发布时间不用改：发布时间按“现在减去已发布的分钟数”计算。",
    videoId: "视频 ID（选填）",
    videoIdHint: "视频在平台上的 ID：与预测一起保存，以便日后核对视频的实际表现；不影响预测结果。",
    ageMinutes: "已发布分钟数",
    views: "播放量",
    likes: "点赞数",
    comments: "评论数",
    shares: "分享数",
    follows: "带来的新粉丝",
    completion: "完播率（0 到 1）",
    retention: "3 秒后仍在观看的比例（0 到 1）",
    earlierLegend: "更早时候的点赞数（选填，用来看增长速度）",
    earlierAge: "当时已发布分钟数",
    earlierLikes: "当时的点赞数",
    predict: "预测",
    resultHeading: "预测结果",
    chanceOf: "获得 {threshold} 个赞的可能性",
    interval: "每 {videos} 个类似的视频中，大约有 {low} 到 {high} 个能获得 {threshold} 个赞。",
    reached: "已达成：这个视频已经有 {threshold} 个或更多的赞。",
    missed: "已确定：{days} 天已过，点赞数没有达到 {threshold}。",
    compareHeading: "对比参考",
    newCreator: "likecast 里还没有你以往视频的最终数据，暂时无法和你自己的视频对比。",
    growthHeading: "增长速度",
    curveHeading: "和同类视频比",
    looksHeading: "可能性的变化（只保存在这个浏览器里）",
    looksMoved: "可能性从 {fromAge}时的 {from} 变为 {toAge}时的 {to}（共查看 {looks} 次）",
    looksOne: "发布 {age}时的可能性：{chance}。过一段时间再查看，就能看到它的变化。",
    looksAxis: "可能性（%）",
    looksChartLabel: "每次查看时的可能性，按发布后小时数",
    forget: "忘掉这个视频的查看记录",
    hoursShort: "{value} 小时",
    audienceHeading: "观众什么时候点赞（事实，不是建议）",
    shareAxis: "占一天点赞的比例（%）",
    likeHourAxis: "一天中的时刻（{zone}，几点）",
    audienceChartLabel: "按小时（{zone}）的点赞比例",
    curveAgeAxis: "发布后小时数",
    curveLikesAxis: "点赞数",
    curveReached: "达到 {threshold} 个赞的视频（中间一半）",
    curveMissed: "没有达到的视频（中间一半）",
    curveYours: "你的视频",
    curveChartLabel: "{group}各时段的点赞数，以及你的视频的点赞数",
    whyHeading: "影响可能性的因素",
    nothingStandsOut: "这次的结果没有特别突出的单个因素。",
    points: "{sign}{value} 个百分点",
    raises: "提高",
    lowers: "降低",
    whenHeading: "什么时候发布",
    howLongHeading: "视频做多长",
    chanceAxis: "可能性（%）",
    hourAxis: "发布时间（{zone}，几点）",
    lengthAxis: "时长（秒）",
    recommended: "推荐",
    hourChartLabel: "按发布时间（{zone}）的可能性",
    lengthChartLabel: "按视频时长的可能性",
    modelVersion: "模型版本 {version}",
    errNumber: "请输入数字",
    errWhole: "请输入整数",
    errMin: "不能小于 {min}",
    errMax: "不能大于 {max}",
    errRequired: "必填",
    errTimezone: "未知的时区，例如 Asia/Shanghai",
    errEarlierAge: "分钟数必须小于目前数据的分钟数",
    errEarlierPair: "分钟数和点赞数都要填写",
    errDate: "请填写日期和时间",
    errFix: "请修改标红的字段。",
    errService: "服务没有响应，请稍后再试。",
    errTooLong: "最多 {max} 个字符",
  },
};

// The API's validation rules by pydantic's error type, so its refusals read in the page's
// language too; the limit is taken from the English message, which quotes it.
const RULES = {
  greater_than_equal: "errMin", less_than_equal: "errMax", int_parsing: "errWhole",
  int_from_float: "errWhole", float_parsing: "errNumber", missing: "errRequired",
  string_too_long: "errTooLong",
};

// The data contract's rules across fields (features/contract.py, serving/api/schemas.py) as
// the API words them, in Chinese; {field} is the form's name for the field the rule names.
const CONTRACT_RULES = [
  [/^decreases over time for one video$/, "比更早时候的数还少：这些数只会增加"],
  [/^must be <= (?<field>\w+) of the same snapshot$/, "不能大于同一时刻的{field}"],
  [/^must be < the age of the counts$/, "必须小于目前数据的已发布分钟数"],
];

/** The two languages' tags: the page's <html lang> and the Accept-Language sent. */
export const TAGS = {en: "en", zh: "zh-CN"};

/** The language chosen before (remembered), else the browser's first en or zh, else en. */
export function chooseLanguage(storage = window.localStorage, preferred = navigator.languages) {
  const kept = safeGet(storage);
  if (kept in STRINGS) return kept;
  for (const tag of preferred || []) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary in STRINGS) return primary;
  }
  return "en";
}

/** Remember a choice; private browsing may refuse storage, and then it lasts this visit. */
export function keepLanguage(language, storage = window.localStorage) {
  try { storage.setItem(STORAGE_KEY, language); } catch { /* not remembered */ }
}

function safeGet(storage) {
  try { return storage.getItem(STORAGE_KEY); } catch { return null; }
}

/** A page text in a language, with {name} placeholders filled from vars. */
export function t(language, key, vars = {}) {
  const text = (STRINGS[language] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** A category's name in a language ("rural_life" stays readable when unknown). */

/** An API refusal's message in the page's language, when its rule is one the page knows. */
export function ruleMessage(language, error) {
  const key = RULES[error.type];
  const msg = String(error.msg || "");
  if (!key) return language === "zh" ? contractRule(msg) : msg;
  const limit = msg.match(/-?\d+(\.\d+)?(e[+-]?\d+)?/i);
  return t(language, key, {min: limit?.[0], max: limit?.[0]});
}

// A contract rule the API words in English, in Chinese when the page knows it.
function contractRule(msg) {
  for (const [pattern, zh] of CONTRACT_RULES) {
    const found = msg.match(pattern);
    if (found) return zh.replace("{field}", STRINGS.zh[found.groups?.field] ?? "");
  }
  return msg;
}

/** Every element marked data-i18n gets its text; data-i18n-label its aria-label. */
export function translatePage(language, root = document) {
  document.documentElement.lang = TAGS[language];
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(language, element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(language, element.dataset.i18nLabel));
  }
}
