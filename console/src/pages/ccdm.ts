import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Stop } from "../main";
import { all, get } from "../api";
import { h, replaceChildren, toast } from "../dom";
import { label, num, utc } from "../format";
import type { ElementSetRead, IntentRead, ManeuverList, NeighbourRead, ProximityRead, Spacecraft } from "../types";
import { followWidth, plotWidth } from "../plots";
import { spacecraftHead } from "./tabs";

// Earth's gravitational parameter (km³/s², WGS-84) for the semi-major axis of a mean motion.
const MU_KM3_S2 = 398600.4418;

/** Semi-major axis (km) of a mean motion in revolutions per day (Kepler's third law). */
export function semiMajorAxisKm(revPerDay: number): number {
  const n = (revPerDay * 2 * Math.PI) / 86400;
  return Math.cbrt(MU_KM3_S2 / (n * n));
}

const CATEGORY_CLASS: Record<string, string> = {
  potential_threat: "health-bad",
  rendezvous_inspection: "health-warn",
  collision_avoidance: "health-warn",
  nominal_station_keeping: "health-ok",
};

function table(id: string, caption: string, head: string[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid compact", id },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...head.map((n) => h("th", { scope: "col" }, n)))),
      h("tbody", {}, ...rows),
    ),
  );
}

async function maneuverView(catalogNumber: string, plotBox: HTMLElement, listBox: HTMLElement): Promise<uPlot | null> {
  const [sets, detections] = await Promise.all([
    all<ElementSetRead>(`/catalog/objects/${catalogNumber}/element-sets`),
    get<ManeuverList>(`/ccdm/objects/${catalogNumber}/maneuvers`),
  ]);
  const rows = detections.maneuvers.map((m) =>
    h(
      "tr",
      { "data-epoch": m.epoch },
      h("th", { scope: "row" }, utc(m.epoch)),
      h("td", {}, label(m.kind)),
      h("td", { class: "num", "data-dv": "" }, `${num(m.delta_v_m_s)} m/s`),
      h("td", { class: "num" }, `${num(m.delta_a_km)} km`),
      h("td", { class: "num" }, `${num(m.delta_inclination_deg)}°`),
      h("td", { class: "num" }, num(m.confidence)),
      h("td", {}, `${utc(m.before_epoch)} → ${utc(m.after_epoch)}`),
    ),
  );
  replaceChildren(
    listBox,
    h("p", { class: "muted" }, `${detections.element_set_count} element sets of ${catalogNumber} from ${utc(detections.start)} to ${utc(detections.stop)}.`),
    rows.length === 0
      ? h("p", { id: "no-maneuvers" }, "No manoeuvre detected in this history.")
      : table("maneuver-table", `Manoeuvres detected for ${catalogNumber}`, ["Epoch", "Kind", "Δv", "Δa", "Δi", "Confidence", "Between element sets"], rows),
  );
  replaceChildren(plotBox);
  if (sets.length === 0) {
    plotBox.append(h("p", { class: "muted" }, "No element sets to plot."));
    return null;
  }
  const xs = sets.map((s) => new Date(s.epoch).getTime() / 1000);
  const sma = sets.map((s) => semiMajorAxisKm(s.mean_motion_rev_per_day));
  // Each detection marked on the first element set after the burn.
  const after = new Set(detections.maneuvers.map((m) => new Date(m.after_epoch).getTime() / 1000));
  const marks = xs.map((x, i) => (after.has(x) ? (sma[i] ?? null) : null));
  return new uPlot(
    {
      width: plotWidth(plotBox),
      height: 260,
      series: [
        { label: "UTC", value: (_u, t) => (t === null ? "—" : new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ")) },
        { label: "Semi-major axis (km)", stroke: "#60a5fa", width: 2, value: (_u, v) => (v === null ? "—" : v.toFixed(3)) },
        { label: "Manoeuvre", stroke: "#ff8a8a", width: 0, paths: () => null, points: { show: true, size: 12, fill: "#ff8a8a" } },
      ],
      axes: [
        {
          stroke: "#cbd5e1",
          grid: { stroke: "#334155" },
          ticks: { stroke: "#334155" },
          values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(0, 10)),
        },
        { stroke: "#cbd5e1", grid: { stroke: "#334155" }, ticks: { stroke: "#334155" }, label: "km", size: 80 },
      ],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    },
    [xs, sma, marks],
    plotBox,
  );
}

function intentView(intent: IntentRead): (Node | string)[] {
  const rows = intent.evidence.map((e) =>
    h(
      "tr",
      { "data-indicator": e.name, "data-contributes": String(e.contributes) },
      h("th", { scope: "row" }, label(e.name)),
      h("td", { class: "num" }, num(e.value)),
      h("td", { class: "num" }, num(e.threshold)),
      h("td", {}, e.unit.replace(/_/g, " ")),
      h("td", { class: "num" }, num(e.weight)),
      h("td", {}, e.contributes ? h("strong", {}, "Yes") : "No"),
      h("td", { class: "source" }, e.source),
    ),
  );
  return [
    h(
      "p",
      {},
      h("span", { class: `badge ${CATEGORY_CLASS[intent.category] ?? "health-none"}`, id: "intent-category" }, label(intent.category)),
      ` Score `,
      h("strong", { id: "intent-score" }, intent.score.toFixed(2)),
      intent.threat_alert ? " · the potential-threat alert fired" : "",
    ),
    h("p", { class: "muted" }, intent.explanation),
    table("evidence-table", `Evidence for the intent of ${intent.catalog_number}`, ["Indicator", "Value", "Threshold", "Unit", "Weight", "Contributes", "Source data"], rows),
  ];
}

export async function ccdmPage(main: HTMLElement, id: string): Promise<Stop> {
  const spacecraft = await get<Spacecraft>(`/spacecraft/${id}`);
  document.title = `${spacecraft.name} CCDM · AstroShield console`;
  const own = spacecraft.catalog_number;
  if (!own) {
    replaceChildren(main, ...spacecraftHead(id, spacecraft.name, "ccdm"), h("p", {}, "This spacecraft has no catalog number: nothing to analyse."));
    return () => undefined;
  }
  const proximity = await get<ProximityRead>(`/ccdm/spacecraft/${id}/proximity`);
  const objects = [own, ...proximity.neighbours.map((n) => n.catalog_number)];
  const object = h(
    "select",
    { id: "maneuver-object" },
    ...objects.map((n, i) => h("option", { value: n }, i === 0 ? `${n} (this spacecraft)` : n)),
  );
  const plotBox = h("div", { class: "plot-box", id: "element-plot" });
  const listBox = h("div", { id: "maneuvers" });
  const intentBox = h("div", { id: "intent" }, h("p", { class: "muted" }, "Choose a neighbour in the proximity list to assess its intent."));
  const intentTitle = h("h2", { id: "intent-title" }, "Intent assessment");
  let chart: uPlot | null = null;

  async function showManeuvers(): Promise<void> {
    chart?.destroy();
    chart = null;
    chart = await maneuverView(object.value, plotBox, listBox);
  }

  async function assess(neighbour: NeighbourRead): Promise<void> {
    replaceChildren(intentBox, h("p", { class: "muted" }, "Assessing…"));
    const intent = await get<IntentRead>(`/ccdm/spacecraft/${id}/intent/${neighbour.catalog_number}`);
    intentTitle.textContent = `Intent assessment: ${neighbour.catalog_number}`;
    replaceChildren(intentBox, ...intentView(intent));
  }

  const neighbourRows = proximity.neighbours.map((n) => {
    const show = h("button", { type: "button", class: "secondary small", "aria-label": `Manoeuvres of ${n.catalog_number}` }, "Manoeuvres");
    show.addEventListener("click", () => {
      object.value = n.catalog_number;
      showManeuvers().catch((e: unknown) => toast(String(e), "error"));
    });
    // The assessment can fire the potential-threat alert: it runs when asked, not on load.
    const run = h("button", { type: "button", class: "small", "aria-label": `Assess intent of ${n.catalog_number}` }, "Assess intent");
    run.addEventListener("click", () => void assess(n).catch((e: unknown) => toast(e instanceof Error ? e.message : String(e), "error")));
    return h(
      "tr",
      { "data-neighbour": n.catalog_number },
      h("th", { scope: "row" }, n.catalog_number),
      h("td", {}, label(n.trend)),
      h("td", { class: "num", "data-closest": "" }, n.closest_approach_km === null ? "—" : `${num(n.closest_approach_km)} km`),
      h("td", {}, utc(n.closest_approach_time)),
      h("td", { class: "num" }, n.closing_rate_km_per_day === null ? "—" : `${num(n.closing_rate_km_per_day)} km/day`),
      h("td", { class: "num" }, `${num(n.plane_angle_deg)}°`),
      h("td", { class: "num" }, `${num(n.altitude_gap_km)} km`),
      h("td", {}, n.maneuvered_toward ? "Toward" : n.maneuvered_away ? "Away" : "None"),
      h("td", {}, h("div", { class: "actions" }, show, run)),
    );
  });

  replaceChildren(
    main,
    ...spacecraftHead(id, spacecraft.name, "ccdm"),
    h(
      "section",
      { class: "panel", "aria-labelledby": "maneuver-title" },
      h("h2", { id: "maneuver-title" }, "Manoeuvre history"),
      h("div", { class: "filters" }, h("label", { for: "maneuver-object" }, "Object"), object),
      plotBox,
      listBox,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "proximity-title" },
      h("h2", { id: "proximity-title" }, "Proximity"),
      h("p", { class: "muted" }, `Objects near ${own} from ${utc(proximity.window_start)} to ${utc(proximity.window_stop)}.`),
      neighbourRows.length === 0
        ? h("p", { id: "no-neighbours" }, "No object shares this spacecraft's plane and altitude band.")
        : table(
            "proximity-table",
            `Objects in proximity of ${own}`,
            ["Object", "Trend", "Closest approach", "At", "Closing rate", "Plane angle", "Altitude gap", "Manoeuvred", "Actions"],
            neighbourRows,
          ),
    ),
    h("section", { class: "panel", "aria-labelledby": "intent-title" }, intentTitle, intentBox),
  );
  object.addEventListener("change", () => void showManeuvers().catch((e: unknown) => toast(String(e), "error")));
  await showManeuvers();
  const unfollow = followWidth(plotBox, () => chart, 260);
  return () => {
    unfollow();
    chart?.destroy();
  };
}
