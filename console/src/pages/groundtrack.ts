import type { Stop } from "../main";
import { get, post } from "../api";
import { h, replaceChildren, toast } from "../dom";
import { num, utc } from "../format";
import type { Analysis, Spacecraft } from "../types";
import { worldMap, type MapStation } from "../worldmap";
import { spacecraftHead } from "./tabs";

// Ground stations are the operator's own (the API takes them with each analysis and keeps
// none): remembered in this browser, Svalbard (the API's example) until edited.
const STATIONS_KEY = "astroshield.console.stations";
const DEFAULT_STATIONS: Station[] = [{ name: "Svalbard", lat: 78.23, lon: 15.39, alt: 0.5 }];
const WINDOWS_H = [3, 6, 12, 24];
const STEP_S = 60;

interface Station extends MapStation {
  alt: number;
}

function savedStations(): Station[] {
  try {
    const saved = JSON.parse(window.localStorage.getItem(STATIONS_KEY) ?? "null") as Station[] | null;
    return Array.isArray(saved) ? saved : DEFAULT_STATIONS;
  } catch {
    return DEFAULT_STATIONS;
  }
}

function field(labelText: string, input: HTMLInputElement): HTMLLabelElement {
  return h("label", {}, labelText, input);
}

function stationRow(station: Station, n: number, onRemove: (row: HTMLElement) => void): HTMLElement {
  const input = (name: string, value: string | number, attrs: Record<string, string | number> = {}) =>
    h("input", { name, value: String(value), required: true, ...attrs });
  const remove = h("button", { type: "button", class: "secondary small", "aria-label": `Remove station ${n}` }, "Remove");
  const row = h(
    "div",
    { class: "stations", "data-station": n },
    field("Name", input("name", station.name, { maxlength: 64 })),
    field("Latitude (°)", input("lat", station.lat, { type: "number", step: "any", min: -90, max: 90 })),
    field("Longitude (°)", input("lon", station.lon, { type: "number", step: "any", min: -180, max: 360 })),
    field("Altitude (km)", input("alt", station.alt, { type: "number", step: "any", min: -1, max: 100 })),
    remove,
  );
  remove.addEventListener("click", () => onRemove(row));
  return row;
}

function readStations(box: HTMLElement): Station[] {
  return [...box.querySelectorAll<HTMLElement>("[data-station]")].map((row) => {
    const value = (name: string) => (row.querySelector(`input[name=${name}]`) as HTMLInputElement).value;
    return { name: value("name").trim(), lat: Number(value("lat")), lon: Number(value("lon")), alt: Number(value("alt")) };
  });
}

function passesTable(analysis: Analysis): HTMLElement {
  if (analysis.passes.length === 0) return h("p", { class: "muted", id: "no-passes" }, "No pass over these stations in the window.");
  const head = ["Station", "AOS (rise)", "LOS (set)", "Duration", "Max elevation", "AOS azimuth", "LOS azimuth"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid compact", id: "pass-table" },
      h("caption", { class: "visually-hidden" }, "Passes over the ground stations, in time order"),
      h("thead", {}, h("tr", {}, ...head.map((n) => h("th", { scope: "col" }, n)))),
      h(
        "tbody",
        {},
        ...analysis.passes.map((p) =>
          h(
            "tr",
            { "data-rise": p.rise },
            h("th", { scope: "row" }, p.station ?? "—"),
            h("td", {}, utc(p.rise), p.starts_before_window ? " (before window)" : ""),
            h("td", {}, utc(p.set), p.ends_after_window ? " (after window)" : ""),
            h("td", { class: "num" }, `${Math.round(p.duration_s / 60)} min`),
            h("td", { class: "num", "data-max-elevation": "" }, `${p.max_elevation_deg.toFixed(1)}°`),
            h("td", { class: "num" }, `${p.rise_azimuth_deg.toFixed(0)}°`),
            h("td", { class: "num" }, `${p.set_azimuth_deg.toFixed(0)}°`),
          ),
        ),
      ),
    ),
  );
}

function orbitFacts(analysis: Analysis): HTMLElement {
  const m = analysis.mean_elements;
  return h(
    "dl",
    { class: "facts", id: "orbit-facts" },
    h("dt", {}, "Element set epoch"),
    h("dd", {}, utc(analysis.object.element_epoch)),
    h("dt", {}, "Period"),
    h("dd", {}, `${m.period_min.toFixed(1)} min`),
    h("dt", {}, "Perigee / apogee"),
    h("dd", {}, `${num(m.perigee_altitude_km)} / ${num(m.apogee_altitude_km)} km`),
    h("dt", {}, "Inclination"),
    h("dd", {}, `${m.inclination_deg.toFixed(2)}°`),
    h("dt", {}, "Window"),
    h("dd", {}, `${utc(analysis.start)} – ${utc(analysis.stop)}`),
  );
}

export async function groundTrackPage(main: HTMLElement, id: string): Promise<Stop> {
  const spacecraft = await get<Spacecraft>(`/spacecraft/${id}`);
  const hours = h("select", { id: "track-hours" }, ...WINDOWS_H.map((n) => h("option", { value: n, selected: n === 6 }, `${n} h`)));
  const elevation = h("input", { id: "track-elevation", type: "number", min: 0, max: 89, step: 1, value: "5" });
  const stationBox = h("div", { id: "station-rows" });
  let count = 0;
  const addStation = (station: Station) => {
    count += 1;
    stationBox.append(stationRow(station, count, (row) => row.remove()));
  };
  savedStations().forEach(addStation);
  const add = h("button", { type: "button", class: "secondary small" }, "Add station");
  add.addEventListener("click", () => {
    addStation({ name: "", lat: 0, lon: 0, alt: 0 });
    (stationBox.lastElementChild?.querySelector("input") as HTMLInputElement | null)?.focus();
  });
  const compute = h("button", { type: "submit" }, "Compute");
  const form = h(
    "form",
    { "aria-label": "Window and ground stations" },
    h(
      "div",
      { class: "form-row" },
      h("label", { for: "track-hours" }, "Window from now", hours),
      h("label", { for: "track-elevation" }, "Minimum elevation (°)", elevation),
    ),
    h("fieldset", {}, h("legend", {}, "Ground stations"), stationBox, add),
    compute,
  );
  const facts = h("div", {});
  const mapBox = h("div", { id: "ground-track" });
  const passes = h("div", { id: "passes" });
  const mapTitle = h("h2", { id: "track-title" }, "Ground track");
  replaceChildren(
    main,
    ...spacecraftHead(id, spacecraft.name, "track"),
    h(
      "div",
      { class: "track-layout" },
      h("section", { class: "panel", "aria-labelledby": "track-title" }, mapTitle, mapBox),
      h(
        "div",
        {},
        h("section", { class: "panel", "aria-labelledby": "orbit-title" }, h("h2", { id: "orbit-title" }, "Orbit"), facts),
        h("section", { class: "panel", "aria-labelledby": "window-title" }, h("h2", { id: "window-title" }, "Window and stations"), form),
      ),
    ),
    h("section", { class: "panel", "aria-labelledby": "passes-title" }, h("h2", { id: "passes-title" }, "Passes"), passes),
  );
  document.title = `${spacecraft.name} ground track · AstroShield console`;

  async function run(): Promise<void> {
    const stations = readStations(stationBox);
    window.localStorage.setItem(STATIONS_KEY, JSON.stringify(stations));
    const start = new Date();
    start.setUTCSeconds(0, 0);
    const stop = new Date(start.getTime() + Number(hours.value) * 3600_000);
    compute.disabled = true;
    try {
      const analysis = await post<Analysis>("/trajectory/analyze", {
        spacecraft_id: id,
        start: start.toISOString(),
        stop: stop.toISOString(),
        ground_stations: stations.map((s) => ({ name: s.name, lat_deg: s.lat, lon_deg: s.lon, alt_km: s.alt })),
        min_elevation_deg: Number(elevation.value),
        ground_track_step_s: STEP_S,
        ground_track_max_points: Math.ceil((stop.getTime() - start.getTime()) / 1000 / STEP_S) + 1,
      });
      const track = analysis.ground_track;
      mapTitle.textContent = `Ground track, ${utc(analysis.start)} – ${utc(analysis.stop)}`;
      replaceChildren(facts, orbitFacts(analysis), analysis.warnings.map((w) => h("p", { class: "muted" }, w)));
      replaceChildren(
        mapBox,
        worldMap(
          `Ground track of ${spacecraft.name} over ${hours.value} hours from ${utc(analysis.start)} (the circle marks the start), with ${stations.length} ground station(s)`,
          track.longitude_deg,
          track.latitude_deg,
          stations,
        ),
      );
      replaceChildren(passes, passesTable(analysis));
    } finally {
      compute.disabled = false;
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run().catch((e: unknown) => toast(e instanceof Error ? e.message : String(e), "error"));
  });
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    replaceChildren(mapBox, h("p", { class: "muted", id: "track-error" }, `No ground track: ${message}`));
  }
  return () => undefined;
}
