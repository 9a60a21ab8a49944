/* The playground: builds a decision request from the form, asks the service's own JSON API
   (POST /v1/municipalities/{id}/decisions) as the inputs change, and shows the answer.
   No libraries; everything it needs comes in the page's #playground-data. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("playground-data").textContent);
  var T = data.texts;
  var form = document.getElementById("case-form");
  var age = document.getElementById("age");
  var measures = document.getElementById("measures");
  var currentLevel = document.getElementById("current-level");
  var stepSelect = document.getElementById("step");
  var stepsFor = null; // the level and reporter the step choice lists the steps of
  var result = document.getElementById("result");
  var resultStatus = document.getElementById("result-status");
  var requestOut = document.getElementById("request-json");
  var scenarioOut = document.getElementById("scenario-yaml");
  var copyStatus = document.getElementById("copy-status");
  var seq = 0;
  var timer = null;
  var last = null; // {request, decision | error}

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : m;
    });
  }

  // "within 1 day", "within 14 days": the number's form from the page's catalogue
  function dueWithin(n) {
    return fill(data.dueWithin[n === 1 ? 0 : 1], {n: n});
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function kind() {
    return form.querySelector("input[name=kind]:checked").value;
  }

  // --- the form → a request (defaults left out, as in the scenario files) -------------------
  function buildRequest() {
    var ageValue = age.value.trim();
    var ageNumber = Number(ageValue);
    var request = {
      subject: {kind: kind(), age: ageValue !== "" && Number.isInteger(ageNumber) ? ageNumber : ageValue},
      reporter: {service: document.getElementById("reporter").value},
      signals: []
    };
    form.querySelectorAll("select[data-signal]").forEach(function (select) {
      if (select.value && !select.closest(".signal").hidden) {
        request.signals.push({code: select.dataset.signal, strength: select.value});
      }
    });
    var responsibility = document.getElementById("responsibility").value;
    if (responsibility !== "shared") { request.family = {parental_responsibility: responsibility}; }
    var consent = {};
    var parents = document.getElementById("consent-parents").value;
    var subject = document.getElementById("consent-subject").value;
    if (parents !== "not_asked") { consent.parents = parents; }
    if (subject !== "not_asked") { consent.subject = subject; }
    if (Object.keys(consent).length) { request.consent = consent; }
    var status = {};
    if (currentLevel.value !== "") {
      status.current_level = Number(currentLevel.value);
      if (stepSelect.value) { status.step = stepSelect.value; }
      if (measures.value) { status.measures_effective = measures.value; }
    }
    var involved = Array.prototype.map.call(form.querySelectorAll("input[name=involved]:checked"),
      function (box) { return box.value; });
    if (involved.length) { status.services_involved = involved; }
    if (document.getElementById("complex").checked) { status.complex_long_term_needs = true; }
    if (Object.keys(status).length) { request.status = status; }
    return request;
  }

  // --- a request → the form (from the address's #fragment, so a tried case can be shared) ----
  function fillForm(request) {
    var subject = request.subject || {};
    var radio = form.querySelector("input[name=kind][value='" + (subject.kind === "pregnant" ? "pregnant" : "child") + "']");
    radio.checked = true;
    if (subject.age !== undefined) { age.value = subject.age; }
    if (request.reporter && request.reporter.service) { document.getElementById("reporter").value = request.reporter.service; }
    (request.signals || []).forEach(function (signal) {
      var code = typeof signal === "string" ? signal : signal.code;
      var select = document.getElementById("sig-" + code);
      if (select) { select.value = typeof signal === "string" ? "concern" : (signal.strength || "concern"); }
    });
    var family = request.family || {};
    document.getElementById("responsibility").value = family.parental_responsibility || "shared";
    var consent = request.consent || {};
    document.getElementById("consent-parents").value = consent.parents || "not_asked";
    document.getElementById("consent-subject").value = consent.subject || "not_asked";
    var status = request.status || {};
    currentLevel.value = status.current_level === undefined || status.current_level === null ? "" : String(status.current_level);
    syncSteps();
    stepSelect.value = status.step || "";
    measures.value = status.measures_effective || "";
    (status.services_involved || []).forEach(function (code) {
      var box = form.querySelector("input[name=involved][value='" + code + "']");
      if (box) { box.checked = true; }
    });
    document.getElementById("complex").checked = !!status.complex_long_term_needs;
  }

  // the step choice lists the guide's steps of the current level that can apply to the reporter
  function syncSteps() {
    var level = currentLevel.value;
    var reporter = document.getElementById("reporter").value;
    var key = level + "|" + reporter;
    stepSelect.disabled = level === "";
    if (key === stepsFor) { return; }
    stepsFor = key;
    var chosen = stepSelect.value;
    var steps = (data.pathway[level] || []).filter(function (s) { return s.reporters.indexOf(reporter) >= 0; });
    var options = [el("option", {value: "", text: T.opt_no_step})].concat(steps.map(function (s, i) {
      return el("option", {value: s.id, text: (i + 1) + ". " + s.title});
    }));
    stepSelect.replaceChildren.apply(stepSelect, options);
    stepSelect.value = steps.some(function (s) { return s.id === chosen; }) ? chosen : "";
  }

  function syncControls() {
    var k = kind();
    var range = data.ages[k];
    age.min = range[0];
    age.max = range[1];
    form.querySelectorAll(".signal").forEach(function (row) {
      row.hidden = row.dataset.subjects.split(" ").indexOf(k) < 0;
    });
    form.querySelectorAll(".signal-group").forEach(function (group) {
      group.hidden = !group.querySelector(".signal:not([hidden])");
    });
    syncSteps();
    measures.disabled = currentLevel.value === "";
    document.getElementById("measures-hint").hidden = !measures.disabled;
  }

  // --- YAML in the scenario files' flow style --------------------------------------------
  var RESERVED = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
  function yamlScalar(value) {
    if (value === null || value === undefined) { return "null"; }
    if (typeof value === "number" || typeof value === "boolean") { return String(value); }
    var s = String(value);
    return /^[a-z_][a-z0-9_]*$/.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
  }
  function yamlFlow(value) {
    if (Array.isArray(value)) { return "[" + value.map(yamlFlow).join(", ") + "]"; }
    if (value !== null && typeof value === "object") {
      return "{" + Object.keys(value).map(function (k) { return k + ": " + yamlFlow(value[k]); }).join(", ") + "}";
    }
    return yamlScalar(value);
  }
  function scenarioYaml(request, answer) {
    var what = [request.subject.kind, request.subject.age, request.reporter.service].join(", ");
    var lines = [
      "  - note: " + JSON.stringify(fill(T.scenario_note, {guide: data.guideName}) + " (" + what + ")"),
      "    # " + T.scenario_check,
      "    request:"
    ];
    Object.keys(request).forEach(function (key) { lines.push("      " + key + ": " + yamlFlow(request[key])); });
    lines.push("    expect:");
    if (answer && answer.decision) {
      var d = answer.decision;
      lines.push("      level: " + d.level);
      lines.push("      urgent: " + d.urgent);
      lines.push("      steps: " + yamlFlow(d.steps.map(function (s) { return s.code; })));
      lines.push("      forbidden: " + yamlFlow(d.forbidden.map(function (f) { return f.code; })));
      lines.push("      actors: " + yamlFlow(d.actors.map(function (a) { return a.service + ":" + a.role; })));
      lines.push("      consent: " + yamlFlow(d.consent));
      var p = d.pathway;
      var at = function (status) {
        var found = p.steps.filter(function (s) { return s.status === status; })[0];
        return found ? found.id : null;
      };
      lines.push("      pathway: " + yamlFlow({level: p.level, paused: p.paused,
        steps: p.steps.map(function (s) { return s.id; }), current: at("current"), next: at("next")}));
    } else if (answer && answer.error) {
      var fields = (answer.error.details || []).map(function (x) { return x.field; });
      lines.push("      error: " + yamlFlow({status: answer.status, fields: fields}));
    }
    return lines.join("\n") + "\n";
  }

  // --- rendering the answer ----------------------------------------------------------------
  function lawText(laws) { return laws && laws.length ? "§ " + laws.join("; ") : ""; }
  // the statutes ("Lov") and, set apart, the professional guidance ("Faglig anbefaling")
  function lawLine(laws) {
    var line = el("p", {"class": "law-line"}, [el("span", {"class": "law-label", text: T.law_label + ": "}),
                                                el("span", {"class": "law", text: lawText(laws)})]);
    if (!laws || !laws.length) { line.hidden = true; }
    return line;
  }
  function guidanceLine(guidance) {
    return guidance && guidance.length
      ? el("p", {"class": "guidance"}, [el("span", {"class": "law-label", text: T.guidance_label + ": "}),
                                         guidance.join("; ")])
      : null;
  }

  // the guide's own steps at the decided level, the one the case is at and the next marked
  var STEP_STATUS = {done: T.step_status_done, current: T.step_status_current, next: T.step_status_next,
                     todo: T.step_status_todo};
  function renderPathway(p) {
    var heading = el("h3", {id: "result-pathway-h", text: fill(T.pathway_answer, {level: p.title})});
    if (p.paused) {
      return [heading, el("p", {id: "result-pathway", "class": "pathway-paused", "data-paused": "true",
                                 "data-level": String(p.level), text: T.pathway_paused})];
    }
    var list = el("ol", {id: "result-pathway", "class": "result-pathway", "data-paused": "false",
                         "data-level": String(p.level), "aria-labelledby": "result-pathway-h"}, p.steps.map(function (s) {
      var attrs = {"data-step": s.id, "data-status": s.status, "class": "step-" + s.status};
      if (s.status === "current") { attrs["aria-current"] = "step"; }
      var due = s.due_days === null ? null : el("span", {"class": "due", text: T.col_deadline.toLowerCase() + ": " +
        (s.due_days === 0 ? T.due_today : dueWithin(s.due_days)) +
        (s.due_from ? " " + T["due_from_" + s.due_from] : "")});
      var who = s.who.length ? el("p", {"class": "who"}, [el("span", {"class": "k", text: T.step_who + ": "}),
        s.who.map(function (a) { return a.label; }).join(", ")]) : null;
      var tools = s.tools.length ? el("p", {"class": "tools"}, [el("span", {"class": "k", text: T.step_tools + ": "})]
        .concat(s.tools.reduce(function (out, tool, i) {
          if (i) { out.push(", "); }
          out.push(tool.url ? el("a", {href: tool.url, rel: "external noopener", text: tool.title}) : tool.title);
          return out;
        }, []))) : null;
      return el("li", attrs, [el("span", {"class": "step-status", text: STEP_STATUS[s.status]}), " ",
        el("strong", {text: s.title}), due ? " " : null, due, el("p", {text: s.text}), who, tools]);
    }));
    var teams = p.teams.length ? el("p", {id: "result-teams", "class": "teams"}, [
      el("span", {"class": "k", text: T.pathway_teams + ": "}),
      p.teams.map(function (team) { return team.label; }).join(", ")]) : null;
    return [heading, list, teams];
  }

  function renderDecision(d) {
    var level = el("p", {"class": "level-badge level-" + d.level, id: "result-level"}, [
      el("span", {"class": "k", text: T.level + ": "}), d.level_name
    ]);
    if (d.urgent) { level.appendChild(el("span", {"class": "badge", text: T.urgent})); }
    var steps = el("ol", {id: "result-steps", "class": "result-steps"}, d.steps.map(function (s) {
      var due = s.due_days === null ? null
        : el("span", {"class": "due", text: T.col_deadline.toLowerCase() + ": " +
              (s.due_days === 0 ? T.due_today : dueWithin(s.due_days))});
      return el("li", {"data-code": s.code, "data-kind": s.kind}, [
        el("strong", {text: s.label || data.stepLabels[s.code] || s.code}), due ? " " : null, due,
        el("p", {text: s.text}), lawLine(s.legal_basis), guidanceLine(s.guidance)
      ]);
    }));
    var forbidden = d.forbidden.length
      ? el("ul", {id: "result-forbidden", "class": "result-forbidden"}, d.forbidden.map(function (f) {
          return el("li", {"data-code": f.code}, [el("strong", {text: f.label || data.forbiddenLabels[f.code] || f.code}),
            el("p", {text: f.text}), lawLine(f.legal_basis), guidanceLine(f.guidance)]);
        }))
      : el("p", {id: "result-forbidden", text: T.none});
    var actors = el("ul", {id: "result-actors", "class": "result-actors"}, d.actors.map(function (a) {
      return el("li", {"data-service": a.service, "data-role": a.role}, [
        el("span", {"class": "k", text: (data.roles[a.role] || a.role) + ": "}), a.label
      ]);
    }));
    var c = d.consent;
    var consentItems = [
      el("div", {}, [el("dt", {text: T.required_from}),
        el("dd", {text: c.required_from ? (data.consentParties[c.required_from] || c.required_from) : T.none})]),
      el("div", {}, [el("dt", {text: T.satisfied}), el("dd", {text: c.satisfied ? T.yes : T.no})])
    ];
    if (c.blocks_level !== null) {
      consentItems.push(el("div", {}, [el("dt", {text: T.blocks_level}), el("dd", {text: String(c.blocks_level)})]));
    }
    var consent = el("dl", {id: "result-consent", "class": "facts", "data-required-from": c.required_from || "",
      "data-satisfied": String(c.satisfied), "data-blocks-level": c.blocks_level === null ? "" : String(c.blocks_level)},
      consentItems);
    var why = el("ol", {id: "result-explanation", "class": "result-explanation"}, d.explanation.map(function (e) {
      var signals = e.signals.length
        ? el("p", {"class": "matched", text: T.matched + ": " + e.signals.map(function (s) { return data.signals[s] || s; }).join(", ")})
        : null;
      return el("li", {"data-rule": e.rule}, [el("strong", {text: e.title}), el("p", {text: e.because}), signals]);
    }));
    return [level].concat(renderPathway(d.pathway), [
      el("h3", {text: T.steps_in_order}), steps,
      el("h3", {text: T.forbidden}), forbidden,
      el("h3", {text: T.actors}), actors,
      el("h3", {text: T.consent}), consent,
      el("h3", {text: T.explanation}), why]).filter(Boolean);
  }

  // what a field of the request is called on the form (the API's field path stays in data-field)
  function fieldLabel(field, request) {
    var item = /^signals\[(\d+)\]/.exec(field);
    if (item) {
      var signal = (request.signals || [])[Number(item[1])];
      var code = signal && (typeof signal === "string" ? signal : signal.code);
      return data.signals[code] || data.fieldLabels.signals;
    }
    return data.fieldLabels[field] || data.fieldLabels[field.replace(/\[\d+\]/g, "")] || "";
  }

  function renderError(body, request) {
    var details = (body.error && body.error.details) || [];
    return [el("p", {"class": "error", text: T.invalid}),
      el("ul", {id: "result-errors", "class": "errors"}, details.map(function (x) {
        var label = fieldLabel(x.field, request);
        return el("li", {"data-field": x.field}, label ? [el("strong", {text: label + ":"}), " ", x.message] : [x.message]);
      }).concat(details.length ? [] : [el("li", {text: (body.error && body.error.message) || T.failed})]))];
  }

  function show(state, nodes, requestJson, status) {
    result.replaceChildren.apply(result, nodes);
    result.dataset.state = state;
    result.dataset["for"] = requestJson;
    resultStatus.textContent = status;
  }

  function updateOutputs(request, answer) {
    requestOut.textContent = JSON.stringify(request, null, 2);
    scenarioOut.textContent = scenarioYaml(request, answer);
  }

  function remember(request) {
    var hash = "#" + encodeURIComponent(JSON.stringify(request));
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", hash); }
    document.querySelectorAll("nav.langs a[data-lang]").forEach(function (link) {
      link.href = link.href.split("#")[0] + hash;
    });
  }

  function decide() {
    syncControls();
    var request = buildRequest();
    var requestJson = JSON.stringify(request, null, 2);
    remember(request);
    updateOutputs(request, null);
    var mine = ++seq;
    if (!request.signals.length) {
      last = null;
      show("empty", [], requestJson, T.choose_signal);
      return;
    }
    if (data.playgroundOff) {
      last = null;
      show("off", [el("p", {"class": "error", id: "result-notice", text: T.playground_off})], requestJson,
           T.playground_off);
      return;
    }
    result.dataset.state = "loading";
    resultStatus.textContent = T.loading;
    fetch(data.api, {method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json",
                                              "X-Playground-Token": data.token},
                     body: JSON.stringify(request)})
      .then(function (response) {
        return response.json().then(function (body) { return {status: response.status, body: body}; });
      })
      .then(function (answer) {
        if (mine !== seq) { return; }
        if (answer.status === 200) {
          last = {decision: answer.body};
          result.dataset.level = String(answer.body.level);
          show("ok", renderDecision(answer.body), requestJson,
               answer.body.level_name + (answer.body.urgent ? " – " + T.urgent : "") + ". " +
               answer.body.steps.length + " " + T.steps_in_order.toLowerCase().split(",")[0] + ".");
        } else if (answer.status === 422) {  // only a 422 says something about the case
          last = {error: answer.body.error, status: answer.status};
          show("invalid", renderError(answer.body, request), requestJson, T.invalid);
        } else {  // access refused, the guide unavailable, the request unreadable, a bug: not the case's fault
          last = null;
          var refused = answer.status === 401 || answer.status === 403;
          var notice = refused ? T.access_refused : T.service_problem;
          var said = answer.body && answer.body.error && answer.body.error.message;
          show(refused ? "refused" : "failed", [el("p", {"class": "error", id: "result-notice", text: notice}),
               said ? el("p", {text: said}) : null].filter(Boolean), requestJson, notice);
        }
        updateOutputs(request, last);
      })
      .catch(function () {
        if (mine !== seq) { return; }
        last = null;
        show("failed", [el("p", {"class": "error", text: T.failed})], requestJson, T.failed);
      });
  }

  function schedule() {
    syncControls(); // at once: the step choice follows the level and the reporter as they change
    clearTimeout(timer);
    seq += 1; // an answer still on its way is for a case that has changed since
    result.dataset.state = "loading";
    timer = setTimeout(decide, 120);
  }

  // --- copying -----------------------------------------------------------------------------
  function copy(source, details) {
    var value = source.textContent;
    function fallback() {
      details.open = true;
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      copyStatus.textContent = ok ? T.copied : T.copy_failed;
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(value).then(function () { copyStatus.textContent = T.copied; }, fallback);
    } else {
      fallback();
    }
  }

  document.getElementById("copy-request").addEventListener("click", function () {
    copy(requestOut, document.getElementById("request-details"));
  });
  document.getElementById("copy-scenario").addEventListener("click", function () {
    copy(scenarioOut, document.getElementById("scenario-details"));
  });
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("reset", function () { setTimeout(decide, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); decide(); });

  if (window.location.hash.length > 1) {
    try { fillForm(JSON.parse(decodeURIComponent(window.location.hash.slice(1)))); } catch (e) { /* not a case */ }
  }
  decide();
}());
