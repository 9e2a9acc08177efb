import type { Stop } from "../main";
import { all, API, get } from "../api";
import { alertTable } from "../alerts-ui";
import { spacecraftNames } from "../data";
import { h, replaceChildren, toast } from "../dom";
import { label, metres, pc, relative, tierBadge, tierRank, utc } from "../format";
import type { Alert, Conjunction, ConjunctionDetail } from "../types";

function order(a: Conjunction, b: Conjunction): number {
  return tierRank(a.tier) - tierRank(b.tier) || a.tca.localeCompare(b.tca);
}

export async function conjunctionsPage(main: HTMLElement): Promise<Stop> {
  const names = await spacecraftNames();
  const state = h(
    "select",
    { id: "conj-state" },
    h("option", { value: "open" }, "Open (TCA ahead)"),
    h("option", { value: "closed" }, "Closed (TCA passed)"),
  );
  const list = h("div", {});
  replaceChildren(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Conjunctions")),
    h("form", { class: "filters", "aria-label": "Filter conjunctions" }, h("label", { for: "conj-state" }, "State"), state),
    list,
  );
  document.title = "Conjunctions · AstroShield console";

  async function refresh(): Promise<void> {
    const events = (await all<Conjunction>(`/conjunctions?state=${state.value}`)).sort(order);
    if (events.length === 0) {
      replaceChildren(list, h("p", { class: "muted" }, "No conjunctions."));
      return;
    }
    const rows = events.map((e) =>
      h(
        "tr",
        { "data-event": e.id, "data-tier": e.tier, class: `row-${e.tier}` },
        h("td", {}, tierBadge(e.tier)),
        h("th", { scope: "row" }, h("a", { href: `#/conjunctions/${e.id}` }, names.get(e.spacecraft_id) ?? e.primary_catalog_number)),
        h("td", {}, `${e.secondary_name ?? "unknown"} (${e.secondary_catalog_number})`),
        h("td", {}, utc(e.tca), h("br"), h("span", { class: "muted" }, relative(e.tca))),
        h("td", { class: "num" }, metres(e.miss_distance_m)),
        h("td", { class: "num" }, pc(e.pc)),
        h("td", {}, e.source === "cdm" ? "CDM" : label(e.source)),
      ),
    );
    replaceChildren(
      list,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "grid", id: "conjunction-table" },
          h("caption", { class: "visually-hidden" }, "Conjunctions by tier, then time of closest approach"),
          h(
            "thead",
            {},
            h("tr", {}, ...["Tier", "Spacecraft", "Secondary object", "TCA", "Miss distance", "Pc", "Source"].map((n) => h("th", { scope: "col" }, n))),
          ),
          h("tbody", {}, rows),
        ),
      ),
    );
  }
  state.addEventListener("change", () => void refresh().catch((e: unknown) => toast(String(e), "error")));
  await refresh();
  // A periodic redraw would take the keyboard focus away from a link in the list.
  const timer = window.setInterval(() => {
    if (!list.contains(document.activeElement)) refresh().catch(() => undefined);
  }, 15000);
  return () => window.clearInterval(timer);
}

function fact(name: string, value: Node | string): HTMLElement[] {
  return [h("dt", {}, name), h("dd", {}, value)];
}

export async function conjunctionPage(main: HTMLElement, id: string): Promise<Stop> {
  const [event, names] = await Promise.all([get<ConjunctionDetail>(`/conjunctions/${id}`), spacecraftNames()]);
  const spacecraft = names.get(event.spacecraft_id) ?? event.primary_catalog_number;
  const alerts = h("div", { id: "event-alerts" });
  const title = `${spacecraft} × ${event.secondary_name ?? event.secondary_catalog_number}`;
  replaceChildren(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/conjunctions" }, "Conjunctions"), " / ", title),
    h("div", { class: "page-head" }, h("h1", {}, title), tierBadge(event.tier)),
    h(
      "div",
      { class: "two-col" },
      h(
        "section",
        { class: "panel", "aria-labelledby": "facts-title" },
        h("h2", { id: "facts-title" }, "Encounter"),
        h(
          "dl",
          { class: "facts" },
          fact("Tier", h("span", {}, tierBadge(event.tier), " ", h("span", { class: "muted" }, `from ${event.tier_basis === "pc" ? "Pc" : label(event.tier_basis)}`))),
          fact("Collision probability (Pc)", h("strong", { id: "event-pc" }, pc(event.pc))),
          fact("TCA", `${utc(event.tca)} (${relative(event.tca)})`),
          fact("Miss distance", metres(event.miss_distance_m)),
          fact("Relative speed", event.relative_speed_m_s === null ? "—" : `${(event.relative_speed_m_s / 1000).toFixed(2)} km/s`),
          fact("Primary", h("a", { href: `#/spacecraft/${event.spacecraft_id}` }, `${spacecraft} (${event.primary_catalog_number})`)),
          fact("Secondary", `${event.secondary_name ?? "unknown"} (${event.secondary_catalog_number})`),
          fact("State", label(event.state)),
          fact("CDMs received", String(event.cdms.length)),
        ),
        h(
          "p",
          { class: "downloads" },
          h("a", { class: "button", href: `${API}/conjunctions/${id}/cdm`, download: `conjunction-${id}.kvn` }, "Download CDM (KVN)"),
          " ",
          h("a", { class: "button secondary", href: `${API}/conjunctions/${id}/cdm?format=xml`, download: `conjunction-${id}.xml` }, "Download CDM (XML)"),
        ),
      ),
      h(
        "section",
        { class: "panel", "aria-labelledby": "plot-title" },
        h("h2", { id: "plot-title" }, "Encounter plane"),
        h("img", {
          id: "encounter-plot",
          class: "plot",
          src: `${API}/conjunctions/${id}/encounter.png`,
          alt: `Encounter-plane plot: relative position, combined covariance ellipse and hard-body circle at TCA; Pc ${pc(event.pc)}`,
        }),
      ),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "Pc history"),
      h("img", {
        id: "pc-history-plot",
        class: "plot wide",
        src: `${API}/conjunctions/${id}/pc-history.png`,
        alt: "Pc of each CDM received for this event over time, with the tier bounds",
      }),
    ),
    avoidancePanel(id),
    h("section", { class: "panel", "aria-labelledby": "alerts-title" }, h("h2", { id: "alerts-title" }, "Alert"), alerts),
  );
  document.title = `${title} · AstroShield console`;

  async function refreshAlerts(): Promise<void> {
    const list = await all<Alert>(`/alerts?event_id=${id}`, 100);
    replaceChildren(alerts, alertTable(list, names, refreshAlerts, "Alerts of this conjunction"));
  }
  await refreshAlerts();
  return () => undefined;
}

interface Approach {
  time_offset_s: number;
  miss_distance_km: number;
  pc: number;
}

interface AvoidanceTrade {
  direction: string;
  lead_time_s: number;
  red_pc: number;
  max_delta_v_m_s: number;
  feasible: boolean;
  delta_v_m_s: number | null;
  before: Approach;
  after: Approach | null;
}

const LEAD_TIMES: [number, string][] = [
  [1800, "30 min"],
  [5400, "1.5 h"],
  [10800, "3 h"],
  [21600, "6 h"],
  [43200, "12 h"],
];

/** The avoidance trade of the latest CDM: the smallest burn of our spacecraft, at a chosen
 * lead time and direction, that takes Pc out of red (computed on request by the API). */
function avoidancePanel(id: string): HTMLElement {
  const lead = h("select", { id: "avoidance-lead" }, ...LEAD_TIMES.map(([value, text]) => h("option", { value: String(value) }, text)));
  (lead as HTMLSelectElement).value = "5400";
  const direction = h(
    "select",
    { id: "avoidance-direction" },
    h("option", { value: "along_track" }, "Along track"),
    h("option", { value: "radial" }, "Radial"),
  );
  const result = h("div", { id: "avoidance-result", "aria-live": "polite" });
  const compute = h("button", { type: "submit" }, "Compute avoidance");
  const form = h(
    "form",
    { class: "filters", "aria-label": "Avoidance trade" },
    h("label", { for: "avoidance-lead" }, "Burn before TCA"),
    lead,
    h("label", { for: "avoidance-direction" }, "Direction"),
    direction,
    compute,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = `lead_time_s=${(lead as HTMLSelectElement).value}&direction=${(direction as HTMLSelectElement).value}`;
    replaceChildren(result, h("p", { class: "muted" }, "Computing…"));
    get<AvoidanceTrade>(`/conjunctions/${id}/avoidance?${query}`)
      .then((trade) => replaceChildren(result, tradeFacts(trade)))
      .catch((error: unknown) => {
        replaceChildren(result, h("p", { class: "muted" }, String(error)));
        toast(String(error), "error");
      });
  });
  return h(
    "section",
    { class: "panel", "aria-labelledby": "avoidance-title" },
    h("h2", { id: "avoidance-title" }, "Avoidance trade"),
    form,
    result,
  );
}

function tradeFacts(trade: AvoidanceTrade): HTMLElement {
  const after = trade.after;
  return h(
    "dl",
    { class: "facts" },
    fact(
      "Burn",
      trade.feasible && trade.delta_v_m_s !== null
        ? h("strong", { id: "avoidance-dv" }, `${trade.delta_v_m_s.toFixed(3)} m/s ${label(trade.direction)}, ${(trade.lead_time_s / 3600).toFixed(1)} h before TCA`)
        : h("strong", { id: "avoidance-dv" }, `None up to ${trade.max_delta_v_m_s} m/s clears Pc ${pc(trade.red_pc)}`),
    ),
    fact("Pc before → after", `${pc(trade.before.pc)} → ${after ? pc(after.pc) : "—"}`),
    fact("Miss before → after", `${metres(trade.before.miss_distance_km * 1000)} → ${after ? metres(after.miss_distance_km * 1000) : "—"}`),
  );
}

