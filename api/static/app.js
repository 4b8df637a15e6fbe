// newsrag chat page: asks /v1/ask with stream: true, renders the streamed answer, [n] markers
// and citation cards. Every piece of article or answer text enters the page as text
// (textContent, Text nodes), never as HTML, so markup inside an article stays inert.
(() => {
  "use strict";

  const MAX_HISTORY = 20; // messages sent with a follow-up (the API accepts up to 50)
  const EXCERPT_CHARS = 240; // passage context shown either side of a quote before "show all"
  const ARTICLES_PAGE = 50;

  const $ = (selector) => document.querySelector(selector);
  const ui = {
    form: $("#ask-form"),
    question: $("#question"),
    send: $("#send"),
    conversation: $("#conversation"),
    welcome: $("#welcome"),
    announcer: $("#announcer"),
    scope: $("#scope"),
    filters: $("#filters"),
    source: $("#filter-source"),
    from: $("#filter-from"),
    to: $("#filter-to"),
    articles: $("#articles"),
    articleCount: $("#article-count"),
    articlesStatus: $("#articles-status"),
    moreArticles: $("#more-articles"),
    sidebar: $("#sidebar"),
    toggleSidebar: $("#toggle-sidebar"),
    newConversation: $("#new-conversation"),
  };

  const state = {
    history: [], // [{role, content}] of finished turns, oldest first
    controller: null, // AbortController of the answer being streamed
    turns: 0,
    articlesLoaded: 0,
  };

  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  // ---- DOM helpers: text only ------------------------------------------------------------

  /** Build an element; `text` sets textContent, children are nodes or strings (as text). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function announce(message) {
    ui.announcer.textContent = "";
    // A fresh text node on the next frame so screen readers announce repeats too.
    requestAnimationFrame(() => {
      ui.announcer.textContent = message;
    });
  }

  /** Only http(s) links become hrefs: an article's url could say "javascript:...". */
  function safeUrl(value) {
    if (!value) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", timeZone: "UTC",
  });

  function formatDate(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    if (!match) return iso || "";
    return dateFormat.format(new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])));
  }

  function dateElement(iso) {
    return iso ? el("time", { datetime: iso, text: formatDate(iso) }) : null;
  }

  // ---- Server-sent events over fetch (EventSource cannot POST) ----------------------------

  /** Yield {event, data} for each event of a text/event-stream response body. */
  async function* readEvents(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A chunk may end between the \r and \n of one line break: keep a trailing \r for later.
      const held = buffer.endsWith("\r") ? "\r" : "";
      buffer = buffer.slice(0, buffer.length - held.length).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const parsed = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (parsed) yield parsed;
      }
      buffer += held;
    }
    const last = parseEvent(buffer.replace(/\r\n?/g, "\n").trim());
    if (last) yield last;
  }

  function parseEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // comments are keep-alive pings
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { event, data: data.join("\n") } : null;
  }

  /** The `message` of a JSON error body ({"error": {"code", "message"}}), or the status. */
  async function errorMessage(response) {
    try {
      const body = await response.json();
      const message = body && body.error && body.error.message;
      if (message) return String(message);
    } catch {
      // not JSON: fall through to the status line
    }
    return `The server answered ${response.status} ${response.statusText}`.trim();
  }

  // ---- Filters ----------------------------------------------------------------------------

  function currentFilters() {
    const filters = {};
    if (ui.source.value) filters.source = ui.source.value;
    if (ui.from.value) filters.published_from = ui.from.value;
    if (ui.to.value) filters.published_to = ui.to.value;
    return Object.keys(filters).length ? filters : null;
  }

  function describeScope() {
    const outlet = ui.source.value || "all outlets";
    let dates = "any date";
    if (ui.from.value && ui.to.value) {
      dates = `${formatDate(ui.from.value)} to ${formatDate(ui.to.value)}`;
    } else if (ui.from.value) dates = `from ${formatDate(ui.from.value)}`;
    else if (ui.to.value) dates = `up to ${formatDate(ui.to.value)}`;
    ui.scope.textContent = `Searching ${outlet}, ${dates}.`;
  }

  function ensureSourceOption(name) {
    for (const option of ui.source.options) if (option.value === name) return option;
    const option = el("option", { value: name, text: name });
    ui.source.append(option);
    return option;
  }

  function applyFacets(facets) {
    if (!facets) return;
    const chosen = ui.source.value;
    while (ui.source.options.length > 1) ui.source.remove(1);
    for (const { name, count } of facets.sources || []) {
      ui.source.append(el("option", { value: name, text: `${name} (${count})` }));
    }
    if (chosen) ensureSourceOption(chosen).selected = true;
    const range = facets.published || {};
    for (const input of [ui.from, ui.to]) {
      if (range.min) input.min = range.min;
      if (range.max) input.max = range.max;
    }
  }

  // ---- Indexed articles panel -------------------------------------------------------------

  async function loadArticles() {
    const first = state.articlesLoaded === 0;
    const query = new URLSearchParams({ offset: state.articlesLoaded, limit: ARTICLES_PAGE });
    if (!first) query.set("facets", "false");
    ui.moreArticles.disabled = true;
    try {
      const response = await fetch(`/v1/documents?${query}`, { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(await errorMessage(response));
      const page = await response.json();
      if (first) applyFacets(page.facets);
      for (const article of page.documents) {
        ui.articles.append(el("li", { "data-article": article.id },
          el("p", { class: "article-title", text: article.title || "Untitled article" }),
          el("p", { class: "article-meta" },
            article.source || "Unknown outlet",
            article.published ? " · " : "",
            dateElement(article.published))));
      }
      state.articlesLoaded += page.documents.length;
      ui.articleCount.textContent = `(${page.total})`;
      ui.articlesStatus.textContent = page.total === 0
        ? "No articles are indexed yet. Add some with `rag index` or POST /v1/documents."
        : "";
      ui.moreArticles.hidden = state.articlesLoaded >= page.total;
    } catch (error) {
      ui.articlesStatus.textContent = `Could not load the articles: ${error.message}`;
    } finally {
      ui.moreArticles.disabled = false;
    }
  }

  // ---- A conversation turn ----------------------------------------------------------------

  function createTurn(question) {
    state.turns += 1;
    const id = `turn-${state.turns}`;
    const followUp = state.history.length > 0;
    const turn = {
      id, question, followUp, text: "", citations: [], contexts: [], grounding: null,
      finished: false, abstained: false,
    };
    turn.status = el("div", { class: "status", role: "status" },
      el("span", { class: "dots", "aria-hidden": "true" }, el("span"), el("span"), el("span")),
      el("span", { class: "status-text", text: "Searching the articles…" }));
    turn.answer = el("div", {
      class: "answer", id: `${id}-answer`, "data-answer": "", "data-state": "waiting",
      tabindex: "-1",
    });
    turn.response = el("div", { class: "response", "aria-busy": "true" }, turn.status, turn.answer);
    turn.node = el("article", { class: "turn", id, "aria-labelledby": `${id}-question` },
      el("p", { class: "turn-label", text: followUp ? "Follow-up" : "Question" }),
      el("h2", { class: "turn-question", id: `${id}-question`, text: question }),
      turn.response);
    ui.welcome.hidden = true;
    ui.conversation.append(turn.node);
    turn.node.scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "auto" : "smooth" });
    return turn;
  }

  function setStatus(turn, message) {
    turn.status.querySelector(".status-text").textContent = message;
  }

  /** Render the answer text with each complete [n] as a link to its card, and each quoted
   * speaker's name as a link to what they said. */
  function renderAnswer(turn) {
    const fragment = document.createDocumentFragment();
    const pattern = /\[(\d{1,3})\]/g;
    const checks = markerChecks(turn);
    const speakers = speakersOf(turn);
    let last = 0;
    let index = 0;
    for (const match of turn.text.matchAll(pattern)) {
      // A marker sits tight against the sentence it closes.
      fragment.append(...linkSpeakers(turn.text.slice(last, match.index).replace(/[ \t]+$/, ""),
        speakers));
      fragment.append(markerLink(turn, match[1], checks[index]));
      last = match.index + match[0].length;
      index += 1;
    }
    fragment.append(...linkSpeakers(turn.text.slice(last), speakers));
    turn.answer.replaceChildren(fragment);
  }

  /**
   * Why each marker of an LLM answer was kept, in the order the markers appear: the kept
   * sentences' verdicts (grounding.verdicts, once the grounding event has come) list the
   * markers each was shown with, in the same order.
   */
  function markerChecks(turn) {
    const verdicts = (turn.grounding && turn.grounding.verdicts) || [];
    const checks = [];
    for (const verdict of verdicts) {
      for (const marker of verdict.markers || []) checks.push({ verdict, marker });
    }
    return checks;
  }

  /** The speakers the answer's citations name, longest name first. */
  function speakersOf(turn) {
    const names = new Set((turn.citations || []).map((c) => c.speaker).filter(Boolean));
    return [...names].sort((a, b) => b.length - a.length);
  }

  /** A link that asks what a speaker said: the page answers it from their statements. */
  function speakerLink(name) {
    return el("a", {
      class: "speaker-link", href: `/?${new URLSearchParams({ q: `What did ${name} say?` })}`,
      title: `What ${name} said, statement by statement`, text: name,
    });
  }

  /** Text with each speaker's name (outside the verbatim quotes' words, by whole name) linked. */
  function linkSpeakers(text, speakers) {
    if (!speakers.length || !text) return [text];
    const escaped = speakers.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const pattern = new RegExp(`(^|[^\\p{L}])(${escaped.join("|")})(?![\\p{L}])`, "gu");
    const nodes = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      const start = match.index + match[1].length;
      nodes.push(text.slice(last, start), speakerLink(match[2]));
      last = start + match[2].length;
    }
    nodes.push(text.slice(last));
    return nodes;
  }

  function markerLink(turn, number, check) {
    const citation = turn.citations.find((c) => String(c.id) === number);
    let label = citation
      ? `Source ${number}: ${citation.source || "unknown outlet"}, ${citation.title || "untitled"}`
      : `Source ${number}`;
    let title = citation ? citation.title || "" : null;
    if (check && String(check.marker) === number) {
      const quote = check.verdict.quote ? `: “${check.verdict.quote}”` : "";
      const why = `Checked against the source, which states this${quote}`;
      label += `. ${why}`;
      title = `${title ? `${title}\n` : ""}${why}`;
    }
    return el("a", {
      class: "marker", href: `#${turn.id}-source-${number}`, "data-marker": number,
      "aria-label": label, title,
    }, el("span", { class: "visually-hidden", text: "[" }), number,
    el("span", { class: "visually-hidden", text: "]" }));
  }

  /** The sentences verification removed from an LLM answer, each with its reason. */
  function removedSentences(grounding) {
    const removed = (grounding.verdicts || []).filter((v) => !v.supported);
    if (!removed.length) return null;
    return el("details", { class: "removed" },
      el("summary", { text: `Why ${removed.length} sentence${removed.length === 1 ? " was" : "s were"} removed` }),
      el("ul", {}, removed.map((v) => el("li", {},
        el("q", { text: v.text }), " — ",
        el("span", { class: "removed-reason", text: v.reason.replaceAll("_", " ") }),
        v.detail ? `: ${v.detail}` : ""))));
  }

  function renderCitations(turn) {
    if (!turn.citations.length) return;
    const list = el("ol", { class: "cards", "aria-label": "Sources" },
      turn.citations.map((citation) => citationCard(turn, citation)));
    turn.sources = el("section", { class: "sources", "aria-labelledby": `${turn.id}-sources` },
      el("h3", { class: "sources-heading", id: `${turn.id}-sources`, text: "Sources" }), list);
    turn.response.append(turn.sources);
    renderAnswer(turn); // markers gain their cards' titles as labels
  }

  function citationCard(turn, citation) {
    const id = `${turn.id}-source-${citation.id}`;
    const url = safeUrl(citation.url);
    const title = citation.title || "Untitled article";
    const card = el("li", {
      class: "card", id, "data-citation": citation.id, tabindex: "-1",
      "aria-labelledby": `${id}-title`,
    },
    el("div", { class: "card-head" },
      el("span", { class: "card-number", "aria-hidden": "true", text: citation.id }),
      el("span", { class: "card-source" },
        el("span", { class: "card-outlet", text: citation.source || "Unknown outlet" }),
        citation.published ? " · " : "", dateElement(citation.published)),
      el("a", { class: "card-back", href: `#${turn.id}-answer`, "data-back": "" }, "Back to answer")),
    el("h4", { class: "card-title", id: `${id}-title` },
      url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: title }) : title),
    passage(citation));
    if (citation.speaker) {
      card.append(el("div", { class: "card-foot" },
        el("span", {}, "Highlighted words attributed to ",
          el("strong", {}, speakerLink(citation.speaker)))));
    }
    const copies = citation.also_carried_by || [];
    if (copies.length) card.append(carriedBy(copies));
    return card;
  }

  /** "Also carried by" the story's other copies: each outlet (a link to its copy) and date. */
  function carriedBy(copies) {
    const line = el("div", { class: "card-foot card-carriers" }, "Also carried by ");
    copies.forEach((copy, n) => {
      if (n) line.append(n === copies.length - 1 ? " and " : ", ");
      const outlet = copy.outlet || "an unknown outlet";
      const url = safeUrl(copy.url);
      line.append(url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer",
        title: copy.title || "", text: outlet }) : el("span", { text: outlet }));
      if (copy.published) line.append(" (", dateElement(copy.published), ")");
    });
    return line;
  }

  /** The passage with its supporting quote in <mark>, trimmed around the quote until expanded. */
  function passage(citation) {
    const text = citation.text || "";
    const quote = citation.quote || "";
    let start = citation.quote_start - citation.start;
    let end = citation.quote_end - citation.start;
    // Offsets count code points on the server and UTF-16 units here; trust them only if they
    // land on the quote, else find it.
    if (!(start >= 0 && end <= text.length && text.slice(start, end) === quote)) {
      start = quote ? text.indexOf(quote) : -1;
      end = start + quote.length;
    }
    const block = el("blockquote", { class: "passage" });
    if (start < 0 || !quote) {
      block.append(compactParagraphs(text));
      return block;
    }
    const before = compactParagraphs(text.slice(0, start));
    const after = compactParagraphs(text.slice(end));
    const cutBefore = cutPoint(before, before.length - EXCERPT_CHARS, false);
    const cutAfter = cutPoint(after, EXCERPT_CHARS, true);
    if (cutBefore > 0) {
      block.append(el("span", { class: "ellipsis", "aria-hidden": "true", text: "… " }),
        el("span", { class: "more", text: before.slice(0, cutBefore) }));
    }
    block.append(before.slice(cutBefore), el("mark", { text: compactParagraphs(quote) }),
      after.slice(0, cutAfter));
    if (cutAfter < after.length) {
      block.append(el("span", { class: "more", text: after.slice(cutAfter) }),
        el("span", { class: "ellipsis", "aria-hidden": "true", text: " …" }));
    }
    if (cutBefore > 0 || cutAfter < after.length) {
      const toggle = el("button", {
        type: "button", class: "button-link passage-toggle", "aria-expanded": "false",
        text: "Show the whole passage",
      });
      toggle.addEventListener("click", () => {
        const expanded = block.classList.toggle("is-expanded");
        toggle.setAttribute("aria-expanded", String(expanded));
        toggle.textContent = expanded ? "Show less" : "Show the whole passage";
      });
      const wrapper = el("div", { class: "passage-wrap" }, block,
        el("div", { class: "card-foot" }, toggle));
      return wrapper;
    }
    return block;
  }

  /** Paragraph breaks shown as single line breaks, so a passage reads as one compact block. */
  function compactParagraphs(text) {
    return text.replace(/\n[ \t]*\n\s*/g, "\n");
  }

  /** An index near `target` that falls on a word boundary (0 or text.length at the edges). */
  function cutPoint(text, target, forward) {
    if (target <= 0) return 0;
    if (target >= text.length) return text.length;
    const space = forward ? text.indexOf(" ", target) : text.lastIndexOf(" ", target);
    if (space === -1) return forward ? text.length : 0;
    return forward ? space : space + 1;
  }

  function finish(turn, done) {
    turn.finished = true;
    turn.abstained = Boolean(done && done.abstained);
    turn.status.remove();
    turn.response.removeAttribute("aria-busy");
    turn.answer.dataset.state = turn.abstained ? "abstained" : "done";
    if (turn.abstained) {
      turn.response.classList.add("is-abstained");
      const nearest = turn.contexts.slice(0, 3);
      const notice = el("div", { class: "abstention" },
        el("span", { class: "abstention-icon", "aria-hidden": "true", text: "i" }),
        el("div", { class: "abstention-body" },
          el("p", { class: "abstention-title", text: "Not covered by the indexed articles" }),
          turn.answer,
          nearest.length ? el("details", { class: "nearest" },
            el("summary", { text: "Closest articles searched" }),
            el("ul", {}, nearest.map((context) => el("li", {},
              context.title || "Untitled article",
              context.source ? ` — ${context.source}` : "")))) : null));
      turn.response.prepend(notice);
      announce("No answer: the indexed articles do not cover this question.");
    } else {
      const count = turn.citations.length;
      announce(`Answer ready, citing ${count} source${count === 1 ? "" : "s"}.`);
    }
    const searched = done && done.standalone_question;
    if (turn.followUp && searched && searched.trim() !== turn.question) {
      // A follow-up is rewritten to stand alone before retrieval: say what was searched.
      turn.node.querySelector(".turn-question").after(
        el("p", { class: "turn-rewrite" }, "Searched as: ", el("q", { text: searched })));
    }
    const range = timeScope(done && done.time);
    if (range) turn.node.querySelector(".turn-question").after(range);
    const meta = answerMeta(turn, done);
    if (turn.abstained) turn.response.querySelector(".abstention").after(meta);
    else turn.answer.after(meta);
  }

  /** What the question's time words were read as: the range searched, or newest first. */
  function timeScope(time) {
    if (!time) return null;
    const from = time.published_from;
    const to = time.published_to;
    let text;
    if (!from && !to) text = "Newest reports first";
    else if (!time.applied) text = "Not applied (the filters' dates were searched)";
    else if (from && to) text = from === to ? `Searched articles published on ${from}`
      : `Searched articles published ${from} to ${to}`;
    else text = from ? `Searched articles published from ${from}` : `Searched articles published up to ${to}`;
    if ((from || to) && time.applied && time.newest_first) text += ", newest first";
    return el("p", { class: "turn-time", "data-from": from || null, "data-to": to || null },
      `${text}, read from `, el("q", { text: time.phrase }),
      time.anchor ? el("span", { class: "turn-time-anchor",
        text: ` (counted from ${time.anchor_kind === "today" ? "today" : "the newest article"}, ${time.anchor})` })
        : null);
  }

  function answerMeta(turn, done) {
    const meta = el("div", { class: "answer-meta" });
    const grounding = turn.grounding;
    if (!turn.abstained && grounding && grounding.sentences) {
      const partial = grounding.supported < grounding.sentences;
      let text = `${grounding.supported} of ${grounding.sentences} sentences supported by their sources`;
      if (grounding.dropped) text += ` · ${grounding.dropped} unsupported removed`;
      meta.append(el("span", {
        class: `grounding${partial ? " is-partial" : ""}`, title: grounding.method || null, text,
      }));
      const removed = removedSentences(grounding);
      if (removed) meta.append(removed);
    }
    if (done && done.mode && !turn.abstained) {
      meta.append(el("span", {
        text: done.mode === "llm" ? "Written by a language model from the sources"
          : "Quoted from the sources",
      }));
    }
    if (done && done.notice && done.notice.message) {
      meta.append(el("span", { class: "answer-notice", text: done.notice.message }));
    }
    const link = new URLSearchParams({ q: turn.question });
    const filters = turn.filters || {};
    if (filters.source) link.set("source", filters.source);
    if (filters.published_from) link.set("from", filters.published_from);
    if (filters.published_to) link.set("to", filters.published_to);
    meta.append(el("a", { href: `/?${link}`, class: "share-link" }, "Link to this question"));
    return meta;
  }

  function showError(turn, message) {
    turn.status.remove();
    turn.response.removeAttribute("aria-busy");
    turn.answer.dataset.state = "error";
    const retry = el("button", { type: "button", class: "button button-quiet button-small" },
      "Try again");
    retry.addEventListener("click", () => {
      turn.node.remove();
      ask(turn.question);
    });
    turn.response.append(el("div", { class: "notice-error", role: "alert" },
      el("p", {}, el("strong", { text: "Could not get an answer. " }), message), retry));
  }

  function showStopped(turn) {
    turn.status.remove();
    turn.response.removeAttribute("aria-busy");
    turn.answer.dataset.state = "stopped";
    turn.response.append(el("p", { class: "notice-stopped", text: "Stopped." }));
  }

  function handleEvent(turn, { event, data }) {
    const payload = data ? JSON.parse(data) : null;
    switch (event) {
      case "contexts":
        turn.contexts = payload || [];
        setStatus(turn, `Reading ${turn.contexts.length} passage${turn.contexts.length === 1 ? "" : "s"}…`);
        break;
      case "delta":
        if (turn.answer.dataset.state === "waiting") {
          turn.status.hidden = true;
          turn.answer.dataset.state = "streaming";
        }
        turn.text += (payload && payload.text) || "";
        renderAnswer(turn);
        break;
      case "citations":
        turn.citations = payload || [];
        renderCitations(turn);
        break;
      case "grounding":
        turn.grounding = payload;
        renderAnswer(turn); // markers gain why their sentences were kept
        break;
      case "done":
        finish(turn, payload);
        break;
      case "error": {
        const error = (payload && (payload.error || payload)) || {};
        throw new Error(error.message || "The answer failed part way.");
      }
      default:
        break; // events this page does not know are ignored, so the API can add some
    }
  }

  /** Apply a whole (non-streamed) answer, should the server ever answer with JSON. */
  function applyWholeAnswer(turn, answer) {
    handleEvent(turn, { event: "contexts", data: JSON.stringify(answer.contexts) });
    handleEvent(turn, { event: "delta", data: JSON.stringify({ text: answer.answer }) });
    handleEvent(turn, { event: "citations", data: JSON.stringify(answer.citations) });
    handleEvent(turn, { event: "grounding", data: JSON.stringify(answer.grounding) });
    handleEvent(turn, { event: "done", data: JSON.stringify(answer) });
  }

  function setBusy(busy) {
    ui.send.textContent = busy ? "Stop" : "Ask";
    ui.send.classList.toggle("is-stop", busy);
    ui.send.setAttribute("aria-label", busy ? "Stop the answer" : "Ask");
  }

  async function ask(question) {
    question = question.trim();
    if (!question || state.controller) return;
    const turn = createTurn(question);
    turn.filters = currentFilters();
    const body = { question, stream: true, history: state.history.slice(-MAX_HISTORY) };
    if (turn.filters) body.filters = turn.filters;
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    try {
      const response = await fetch("/v1/ask", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorMessage(response));
      if ((response.headers.get("content-type") || "").includes("text/event-stream")) {
        for await (const event of readEvents(response)) handleEvent(turn, event);
      } else {
        applyWholeAnswer(turn, await response.json());
      }
      if (!turn.finished) throw new Error("The answer stream ended before it was complete.");
      state.history.push({ role: "user", content: question },
        { role: "assistant", content: turn.text });
    } catch (error) {
      if (error.name === "AbortError") showStopped(turn);
      else {
        showError(turn, error.message || String(error));
        announce(`Could not get an answer: ${error.message}`);
      }
    } finally {
      state.controller = null;
      setBusy(false);
    }
  }

  function startNewConversation() {
    if (state.controller) state.controller.abort();
    state.history = [];
    for (const node of ui.conversation.querySelectorAll(".turn")) node.remove();
    ui.welcome.hidden = false;
    if (window.location.search) window.history.replaceState(null, "", "/");
    ui.question.value = "";
    ui.question.focus();
    announce("New conversation.");
  }

  // ---- Marker clicks: scroll to the card and flash it -------------------------------------

  function selectCard(marker) {
    const card = document.getElementById(marker.hash.slice(1));
    if (!card) return;
    const turnNode = card.closest(".turn");
    for (const other of turnNode.querySelectorAll(".card.is-selected")) {
      other.classList.remove("is-selected");
    }
    for (const other of turnNode.querySelectorAll(".marker.is-active")) {
      other.classList.remove("is-active");
    }
    marker.classList.add("is-active");
    card.classList.add("is-selected");
    card.classList.remove("flash");
    void card.offsetWidth; // restart the animation when the same card is picked again
    card.classList.add("flash");
    card.scrollIntoView({ block: "center", behavior: reducedMotion.matches ? "auto" : "smooth" });
    card.focus({ preventScroll: true });
  }

  ui.conversation.addEventListener("click", (event) => {
    const marker = event.target.closest("a.marker");
    if (marker) {
      event.preventDefault();
      selectCard(marker);
      return;
    }
    const back = event.target.closest("a[data-back]");
    if (back) {
      event.preventDefault();
      const answer = document.getElementById(back.hash.slice(1));
      const active = answer && answer.querySelector(".marker.is-active");
      (answer || back).scrollIntoView({ block: "center", behavior: reducedMotion.matches ? "auto" : "smooth" });
      (active || answer).focus({ preventScroll: true });
    }
  });

  ui.conversation.addEventListener("animationend", (event) => {
    if (event.animationName === "flash") event.target.classList.remove("flash");
  });

  // ---- Wiring -----------------------------------------------------------------------------

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.controller) {
      state.controller.abort();
      return;
    }
    const question = ui.question.value;
    if (!question.trim()) {
      ui.question.focus();
      return;
    }
    ui.question.value = "";
    ask(question);
  });

  ui.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!state.controller) ui.form.requestSubmit();
    }
  });

  ui.filters.addEventListener("change", describeScope);
  ui.filters.addEventListener("reset", () => setTimeout(describeScope));
  ui.moreArticles.addEventListener("click", loadArticles);
  ui.newConversation.addEventListener("click", startNewConversation);
  ui.toggleSidebar.addEventListener("click", () => {
    const open = ui.sidebar.classList.toggle("is-open");
    ui.toggleSidebar.setAttribute("aria-expanded", String(open));
  });

  // Shareable links: /?q=question[&source=outlet&from=YYYY-MM-DD&to=YYYY-MM-DD]
  const params = new URLSearchParams(window.location.search);
  if (params.get("source")) ensureSourceOption(params.get("source")).selected = true;
  if (params.get("from")) ui.from.value = params.get("from");
  if (params.get("to")) ui.to.value = params.get("to");
  describeScope();
  loadArticles();
  const shared = (params.get("q") || "").trim();
  if (shared) ask(shared);
  else if (window.matchMedia("(pointer: fine)").matches) ui.question.focus();
})();
